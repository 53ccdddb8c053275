package virtio

import (
	"errors"
	"strings"
	"testing"

	"github.com/gosv/gosv/kernel/dev/devtest"
	"github.com/gosv/gosv/kernel/dev/pci"
)

func pciDevice(t *testing.T, msix int) (*devtest.Platform, *devtest.VirtioPCI, *Device) {
	t.Helper()
	p := devtest.New(4 << 20)
	v := devtest.NewVirtioPCI(p, 3, TypeNet, FVersion1|FRingEventIdx|1<<5, 2, msix)
	ts, errs := OpenPCI(p)
	if len(errs) != 0 || len(ts) != 1 {
		t.Fatalf("OpenPCI: %v %v", ts, errs)
	}
	if ts[0].DeviceType() != TypeNet || ts[0].String() != "virtio-pci 00:03.0" {
		t.Fatalf("transport %v type %d", ts[0], ts[0].DeviceType())
	}
	return p, v, NewDevice(p, ts[0])
}

// runPCI negotiates, sets two queues up with handlers that report on a
// channel, and starts the device.
func runPCI(t *testing.T, d *Device) (chan int, []*Queue) {
	t.Helper()
	if err := d.Negotiate(1 << 5); err != nil {
		t.Fatal(err)
	}
	fired := make(chan int, 16)
	var qs []*Queue
	for i := 0; i < 2; i++ {
		i := i
		q, err := d.SetupQueue(i, 64, func() { fired <- i })
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	if err := d.Start(nil); err != nil {
		t.Fatal(err)
	}
	return fired, qs
}

func complete(t *testing.T, p *devtest.Platform, v *devtest.VirtioPCI, q *Queue, dq int) {
	t.Helper()
	buf, _ := p.AllocDMA(4096)
	if err := q.Add([]Seg{{Addr: buf.Phys, Len: 64, Write: true}}, 1); err != nil {
		t.Fatal(err)
	}
	q.Kick()
	c, ok, err := v.Q[dq].Pop()
	if !ok || err != nil {
		t.Fatalf("device pop: %v %v", ok, err)
	}
	v.Q[dq].Push(c.Head, 64)
	if !v.Q[dq].Signal() {
		t.Fatal("no interrupt")
	}
}

func TestPCIMSIXPerQueue(t *testing.T) {
	p, v, d := pciDevice(t, 3)
	fired, qs := runPCI(t, d)
	if !v.MSIXEnabled() {
		t.Fatal("MSI-X not enabled")
	}
	if cmd := v.Command(); cmd&(pci.CmdMemory|pci.CmdBusMaster|pci.CmdINTxDisable) != pci.CmdMemory|pci.CmdBusMaster|pci.CmdINTxDisable {
		t.Fatalf("command %#x", cmd)
	}
	if v.QueueVector(0) != 1 || v.QueueVector(1) != 2 {
		t.Fatalf("queue vectors %d %d, want 1 2", v.QueueVector(0), v.QueueVector(1))
	}
	if v.Status() != 0xf {
		t.Fatalf("status %#x", v.Status())
	}
	complete(t, p, v, qs[1], 1)
	if q := <-fired; q != 1 {
		t.Fatalf("handler of queue %d ran, want 1", q)
	}
	complete(t, p, v, qs[0], 0)
	if q := <-fired; q != 0 {
		t.Fatalf("handler of queue %d ran, want 0", q)
	}
}

func TestPCIMSIXShared(t *testing.T) {
	p, v, d := pciDevice(t, 2)
	fired, qs := runPCI(t, d)
	if v.QueueVector(0) != 1 || v.QueueVector(1) != 1 {
		t.Fatalf("queue vectors %d %d, want 1 1", v.QueueVector(0), v.QueueVector(1))
	}
	complete(t, p, v, qs[1], 1)
	// Both handlers of the shared vector run; each drains its own queue.
	got := map[int]bool{<-fired: true, <-fired: true}
	if !got[0] || !got[1] {
		t.Fatalf("handlers %v", got)
	}
}

func TestPCIINTx(t *testing.T) {
	p, v, d := pciDevice(t, 0)
	fired, qs := runPCI(t, d)
	if v.MSIXEnabled() {
		t.Fatal("MSI-X on a function without it")
	}
	complete(t, p, v, qs[0], 0)
	got := map[int]bool{<-fired: true, <-fired: true}
	if !got[0] || !got[1] {
		t.Fatalf("handlers %v", got)
	}
}

func TestPCINotify(t *testing.T) {
	_, v, d := pciDevice(t, 3)
	_, qs := runPCI(t, d)
	before := v.Notifies.Load()
	p := d.P.(*devtest.Platform)
	buf, _ := p.AllocDMA(4096)
	qs[1].Add([]Seg{{Addr: buf.Phys, Len: 1}}, 0)
	qs[1].Kick()
	if v.Notifies.Load() != before+1 || v.Q[1].Pending() != 1 {
		t.Fatalf("notify: %d -> %d, pending %d", before, v.Notifies.Load(), v.Q[1].Pending())
	}
}

// legacyFunc is a transitional virtio function without modern
// capabilities.
type legacyFunc struct{}

func (legacyFunc) ConfigRead32(off uint16) uint32 {
	switch off {
	case 0:
		return 0x1000<<16 | 0x1af4
	case 0x2c:
		return 1 << 16
	}
	return 0
}
func (legacyFunc) ConfigWrite32(uint16, uint32) {}

func TestPCILegacy(t *testing.T) {
	p := devtest.New(1 << 20)
	p.PCI[[3]uint8{0, 2, 0}] = legacyFunc{}
	ts, errs := OpenPCI(p)
	if len(ts) != 0 || len(errs) != 1 || !errors.Is(errs[0], ErrLegacy) || !strings.Contains(errs[0].Error(), "pci 00:02.0 [1af4:1000]") {
		t.Fatalf("legacy: %v %v", ts, errs)
	}
}
