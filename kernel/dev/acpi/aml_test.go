package acpi

import (
	"os"
	"reflect"
	"testing"
)

// testdata/microvm-dsdt.aml is the DSDT QEMU 7.2 builds for
// `-M microvm,acpi=on -device virtio-net-device` (dumped from guest memory
// with the monitor's pmemsave); microvm-dsdt-2dev.aml adds a virtio-rng
// device.
func TestMicrovmDSDT(t *testing.T) {
	tbl, err := os.ReadFile("testdata/microvm-dsdt.aml")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := Devices(tbl)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range devs {
		got = append(got, d.Path+" "+d.HID)
	}
	want := []string{`\_SB_.FWCF QEMU0002`, `\_SB_.RTC_ PNP0B00`, `\_SB_.GED_ ACPI0013`, `\_SB_.PWRB PNP0C0C`, `\_SB_.VR23 LNRO0005`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("devices %q, want %q", got, want)
	}
	vr := devs[4]
	if vr.UID != 23 {
		t.Fatalf("_UID %d", vr.UID)
	}
	r, err := ParseResources(vr.CRS)
	if err != nil {
		t.Fatal(err)
	}
	wantR := Resources{Memory: []Memory{{0xfeb02e00, 0x200}}, IRQs: []IRQ{{GSI: 47, Level: true}}}
	if !reflect.DeepEqual(r, wantR) {
		t.Fatalf("VR23 resources %+v, want %+v", r, wantR)
	}
	ged, _ := ParseResources(devs[2].CRS)
	if !reflect.DeepEqual(ged.IRQs, []IRQ{{GSI: 9}}) {
		t.Fatalf("GED interrupts %+v", ged.IRQs)
	}
	if devs[2].UIDStr != "GED" {
		t.Fatalf("GED _UID %q", devs[2].UIDStr)
	}
	rtc, _ := ParseResources(devs[1].CRS)
	if !reflect.DeepEqual(rtc.IO, []IOPort{{0x70, 8}}) || !reflect.DeepEqual(rtc.IRQs, []IRQ{{GSI: 8}}) {
		t.Fatalf("RTC resources %+v", rtc)
	}
}

func TestMicrovmDSDTTwoDevices(t *testing.T) {
	tbl, err := os.ReadFile("testdata/microvm-dsdt-2dev.aml")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := Devices(tbl)
	if err != nil {
		t.Fatal(err)
	}
	var mem []Memory
	var irqs []IRQ
	for _, d := range devs {
		if d.HID != "LNRO0005" {
			continue
		}
		r, err := ParseResources(d.CRS)
		if err != nil {
			t.Fatal(err)
		}
		mem = append(mem, r.Memory...)
		irqs = append(irqs, r.IRQs...)
	}
	if !reflect.DeepEqual(mem, []Memory{{0xfeb02e00, 0x200}, {0xfeb02c00, 0x200}}) ||
		!reflect.DeepEqual(irqs, []IRQ{{47, true, false}, {46, true, false}}) {
		t.Fatalf("virtio-mmio slots %+v %+v", mem, irqs)
	}
}

func TestCheckTable(t *testing.T) {
	tbl, _ := os.ReadFile("testdata/microvm-dsdt.aml")
	bad := append([]byte(nil), tbl...)
	bad[50]++
	if _, err := Devices(bad); err != ErrChecksum {
		t.Fatalf("bad checksum: %v", err)
	}
	if _, err := Devices(tbl[:20]); err != ErrShort {
		t.Fatalf("short table: %v", err)
	}
	if _, err := Devices(nil); err != ErrShort {
		t.Fatalf("empty table: %v", err)
	}
	if _, err := CheckTable(tbl, "APIC"); err == nil {
		t.Fatal("wrong signature accepted")
	}
}

func TestEISAID(t *testing.T) {
	// EisaId("PNP0501") is 0x0105D041.
	if got := EISAID(0x0105d041); got != "PNP0501" {
		t.Fatalf("EISAID = %q", got)
	}
}

func TestPkgLength(t *testing.T) {
	for _, c := range []struct {
		b       []byte
		n, size int
	}{
		{[]byte{0x3f}, 0x3f, 1},
		{[]byte{0x4a, 0x12}, 0x12a, 2},
		{[]byte{0x80 | 0x5, 0x34, 0x12}, 0x12345, 3},
	} {
		n, size, ok := pkgLength(c.b)
		if !ok || n != c.n || size != c.size {
			t.Errorf("pkgLength(% x) = %#x, %d, %v", c.b, n, size, ok)
		}
	}
}

// fixTable sets a table's length and checksum so fuzzed bodies reach the
// walker.
func fixTable(b []byte) []byte {
	t := make([]byte, HeaderSize+len(b))
	copy(t, "DSDT")
	copy(t[HeaderSize:], b)
	n := uint32(len(t))
	t[4], t[5], t[6], t[7] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	var sum byte
	for _, c := range t {
		sum += c
	}
	t[9] = -sum
	return t
}

func FuzzDevices(f *testing.F) {
	for _, name := range []string{"testdata/microvm-dsdt.aml", "testdata/microvm-dsdt-2dev.aml"} {
		tbl, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tbl[HeaderSize:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		devs, err := Devices(fixTable(body))
		if err != nil {
			t.Fatalf("valid header refused: %v", err)
		}
		for _, d := range devs {
			ParseResources(d.CRS)
		}
	})
}

func FuzzResources(f *testing.F) {
	f.Add([]byte{0x86, 0x09, 0x00, 0x01, 0x00, 0x2e, 0xb0, 0xfe, 0x00, 0x02, 0x00, 0x00, 0x89, 0x06, 0x00, 0x01, 0x01, 0x2f, 0, 0, 0, 0x79, 0})
	f.Add([]byte{0x22, 0x10, 0x00, 0x79, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseResources(b)
	})
}
