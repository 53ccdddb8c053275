package virtio

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gosv/gosv/kernel/dev/devtest"
)

func TestFromDSDT(t *testing.T) {
	tbl, err := os.ReadFile("../acpi/testdata/microvm-dsdt-2dev.aml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromDSDT(tbl)
	if err != nil {
		t.Fatal(err)
	}
	want := []MMIODevice{
		{Base: 0xfeb02e00, Size: 0x200, GSI: 47, Level: true},
		{Base: 0xfeb02c00, Size: 0x200, GSI: 46, Level: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("slots %+v, want %+v", got, want)
	}
}

func TestParseMMIOParam(t *testing.T) {
	for in, want := range map[string]MMIODevice{
		"4K@0xd0000000:5":       {Base: 0xd0000000, Size: 4096, GSI: 5},
		"0x200@0xfeb02e00:47:3": {Base: 0xfeb02e00, Size: 0x200, GSI: 47},
		"512@4026531840:12":     {Base: 0xf0000000, Size: 512, GSI: 12},
		"1M@0x1G:0x10":          {Base: 1 << 30, Size: 1 << 20, GSI: 16},
	} {
		got, err := ParseMMIOParam(in)
		if err != nil || got != want {
			t.Errorf("ParseMMIOParam(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4K", "4K@", "4K@0x1000", "0@0x1000:5", "4K@zz:5", "4K@0x1000:x", "99999999999G@0:1", "4K@0xffffffffffffffff:1"} {
		if _, err := ParseMMIOParam(in); err == nil || !strings.Contains(err.Error(), "virtio_mmio.device=") {
			t.Errorf("ParseMMIOParam(%q) error %v", in, err)
		}
	}
}

func TestFromCmdline(t *testing.T) {
	words := []string{"--verbose", "virtio_mmio.device=4K@0xd0000000:5", "/hello", "virtio_mmio.device=bad", "virtio_mmio.device=4K@0xd0001000:6"}
	slots, rest, err := FromCmdline(words)
	if err == nil || !strings.Contains(err.Error(), "virtio_mmio.device=bad") {
		t.Fatalf("error %v", err)
	}
	if !reflect.DeepEqual(rest, []string{"--verbose", "/hello"}) {
		t.Fatalf("rest %q", rest)
	}
	if len(slots) != 2 || slots[1].Base != 0xd0001000 || slots[1].GSI != 6 {
		t.Fatalf("slots %+v", slots)
	}
}

func FuzzParseMMIOParam(f *testing.F) {
	f.Add("4K@0xd0000000:5")
	f.Add("0x200@0xfeb02e00:47:3")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseMMIOParam(s)
		if err == nil && (d.Size == 0 || d.Base+d.Size < d.Base) {
			t.Fatalf("accepted %q as %+v", s, d)
		}
	})
}

func TestOpenMMIO(t *testing.T) {
	p := devtest.New(1 << 20)
	devtest.NewVirtioMMIO(p, 0xfeb00000, 5, TypeNet, FVersion1, 2)
	empty := devtest.NewVirtioMMIO(p, 0xfeb00200, 6, 0, FVersion1, 0)
	_ = empty
	legacy := devtest.NewVirtioMMIO(p, 0xfeb00400, 7, TypeEntropy, FVersion1, 1)
	legacy.Version = 1
	ts, errs := OpenMMIO(p, []MMIODevice{{Base: 0xfeb00000, Size: 0x200}, {Base: 0xfeb00200, Size: 0x200}, {Base: 0xfeb00400, Size: 0x200}})
	if len(ts) != 1 || ts[0].DeviceType() != TypeNet {
		t.Fatalf("transports %v", ts)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "virtio-mmio@0xfeb00400 (device type 4): legacy") {
		t.Fatalf("errors %v", errs)
	}
}
