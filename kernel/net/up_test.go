package net

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"

	"github.com/gosv/gosv/kernel/dev/devtest"
	"github.com/gosv/gosv/kernel/dev/virtio"
	vnet "github.com/gosv/gosv/kernel/dev/virtio/net"
)

// TestUp boots networking the way the kernel will on microvm: the DSDT
// (QEMU's, with one virtio-mmio slot at 0xfeb02e00, GSI 47) names the
// slot, virtio_mmio.device= entries name it again and an empty one, and the card's
// first frame is the ARP request for the gateway.
func TestUp(t *testing.T) {
	dsdt, err := os.ReadFile("../dev/acpi/testdata/microvm-dsdt.aml")
	if err != nil {
		t.Fatal(err)
	}
	p := devtest.New(16 << 20)
	p.Tables["DSDT"] = dsdt
	m := devtest.NewVirtioMMIO(p, 0xfeb02e00, 47, virtio.TypeNet, virtio.FVersion1|virtio.FRingEventIdx|vnet.FMAC|vnet.FStatus, 2)
	m.Config = []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0}
	devtest.NewVirtioMMIO(p, 0xd0000000, 5, 0, 0, 0) // an empty slot
	frames := make(chan []byte, 64)
	m.OnNotify = func(q int) {
		if q != 1 {
			return
		}
		for {
			c, ok, _ := m.Q[1].Pop()
			if !ok {
				return
			}
			frames <- append([]byte(nil), c.Segs[0].Buf[vnet.HeaderSize:]...)
			m.Q[1].Push(c.Head, 0)
		}
	}
	slots, _, err := virtio.FromCmdline([]string{"virtio_mmio.device=4K@0xd0000000:5", "virtio_mmio.device=512@0xfeb02e00:47"})
	if err != nil {
		t.Fatal(err)
	}
	ts, errs := virtio.Discover(p, slots, true)
	if len(errs) != 0 || len(ts) != 1 || ts[0].String() != "virtio-mmio@0xfeb02e00" {
		t.Fatalf("Discover: %v %v", ts, errs)
	}
	st, nics, errs := Up(p, ts, DefaultConfig(), Options{})
	if len(errs) != 0 || len(nics) != 1 {
		t.Fatalf("Up: %v %v", nics, errs)
	}
	defer st.S.Close()
	if m.Status() != 0xf {
		t.Fatalf("device status %#x", m.Status())
	}
	// A connection to the host makes the stack resolve 10.0.2.2.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gonet.DialContextTCP(ctx, st.S, full(netip.MustParseAddrPort("10.0.2.2:80")), proto(netip.MustParseAddrPort("10.0.2.2:80")))
	for f := range frames {
		if len(f) < 42 || f[12] != 0x08 || f[13] != 0x06 {
			continue // IPv6 neighbour discovery and the like
		}
		wantSender := []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15}
		if !bytes.Equal(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) || !bytes.Equal(f[22:32], wantSender) || !bytes.Equal(f[38:42], []byte{10, 0, 2, 2}) {
			t.Fatalf("ARP frame % x", f)
		}
		return
	}
}
