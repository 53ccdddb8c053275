package net

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/gosv/gosv/kernel/dev/devtest"
	"github.com/gosv/gosv/kernel/dev/virtio"
)

type rig struct {
	p   *devtest.Platform
	m   *devtest.VirtioMMIO
	nic *NIC
	got chan []byte
	// notified receives (without blocking the device) at every
	// notification.
	notified chan int
}

func newRig(t *testing.T, features uint64) *rig {
	t.Helper()
	p := devtest.New(8 << 20)
	m := devtest.NewVirtioMMIO(p, 0xfeb02e00, 47, virtio.TypeNet, features, 2)
	m.Config = []byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 1, 0, 1, 0, 0xdc, 0x05}
	tr, err := virtio.NewMMIO(p, virtio.MMIODevice{Base: 0xfeb02e00, Size: 0x200, GSI: 47, Level: true})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{p: p, m: m, got: make(chan []byte, 1024), notified: make(chan int, 1)}
	m.OnNotify = func(q int) {
		select {
		case r.notified <- q:
		default:
		}
	}
	r.nic, err = New(p, tr, func(f []byte) { r.got <- append([]byte(nil), f...) })
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.nic.Transmit(frame(0, 60)); n != 0 || !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Transmit before Start = %d, %v", n, err)
	}
	if err := r.nic.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

func frame(i, n int) []byte {
	f := make([]byte, n)
	for k := range f {
		f[k] = byte(i + k)
	}
	return f
}

func TestNegotiationAndConfig(t *testing.T) {
	r := newRig(t, virtio.FVersion1|virtio.FRingEventIdx|FMAC|FStatus|FMrgRxbuf|FCsum)
	if r.nic.MAC() != [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56} {
		t.Fatalf("MAC %x", r.nic.MAC())
	}
	if want := uint64(virtio.FVersion1 | virtio.FRingEventIdx | FMAC | FStatus | FMrgRxbuf); r.nic.Features() != want {
		t.Fatalf("features %#x, want %#x (CSUM not taken)", r.nic.Features(), want)
	}
	if !r.nic.LinkUp() {
		t.Fatal("link down with status LINK_UP")
	}
	if r.m.Status() != 0xf {
		t.Fatalf("status %#x", r.m.Status())
	}
	if n := r.m.Q[0].Pending(); n != QueueSize {
		t.Fatalf("%d receive buffers posted, want %d", n, QueueSize)
	}
}

// Firecracker offers neither STATUS nor MRG_RXBUF.
func TestMinimalDevice(t *testing.T) {
	r := newRig(t, virtio.FVersion1|FMAC)
	if !r.nic.LinkUp() {
		t.Fatal("link down without VIRTIO_NET_F_STATUS")
	}
	r.deliver(t, [][]byte{frame(1, 60)})
	if got := <-r.got; !bytes.Equal(got, frame(1, 60)) {
		t.Fatal("frame corrupted")
	}
}

// deliver plays the device: it puts each frame in a posted receive buffer
// and interrupts once for the whole batch.
func (r *rig) deliver(t *testing.T, frames [][]byte) {
	t.Helper()
	q := r.m.Q[0]
	for _, f := range frames {
		c, ok, err := q.Pop()
		for !ok && err == nil {
			// Out of buffers: interrupt so that the driver drains and
			// reposts, and wait for its notification.
			q.Signal()
			<-r.notified
			c, ok, err = q.Pop()
		}
		if err != nil || len(c.Segs) != 1 || !c.Segs[0].Write {
			t.Fatalf("receive chain %+v %v", c, err)
		}
		b := c.Segs[0].Buf
		clear(b[:HeaderSize])
		binary.LittleEndian.PutUint16(b[10:], 1)
		copy(b[HeaderSize:], f)
		q.Push(c.Head, uint32(HeaderSize+len(f)))
	}
	q.Signal()
}

func TestReceiveBatch(t *testing.T) {
	r := newRig(t, virtio.FVersion1|virtio.FRingEventIdx|FMAC|FStatus|FMrgRxbuf)
	// 3 rounds of 200 frames: more than the ring, so buffers must be
	// reposted.
	for round := 0; round < 3; round++ {
		var frames [][]byte
		for i := 0; i < 200; i++ {
			frames = append(frames, frame(round*1000+i, 60+i*7%1454))
		}
		r.deliver(t, frames)
		for i, want := range frames {
			if got := <-r.got; !bytes.Equal(got, want) {
				t.Fatalf("round %d frame %d: got %d bytes, want %d", round, i, len(got), len(want))
			}
		}
		// The first round fits the ring: one interrupt for 200 frames.
		if got := r.m.Interrupts.Load(); round == 0 && got != 1 {
			t.Fatalf("%d interrupts for the first 200 frames, want 1", got)
		}
	}
	if r.nic.RxFrames.Load() != 600 {
		t.Fatalf("RxFrames %d", r.nic.RxFrames.Load())
	}
}

func TestMergedReceive(t *testing.T) {
	r := newRig(t, virtio.FVersion1|FMAC|FMrgRxbuf)
	q := r.m.Q[0]
	want := frame(7, 3000) // spread over two buffers
	c1, _, _ := q.Pop()
	c2, _, _ := q.Pop()
	b1, b2 := c1.Segs[0].Buf, c2.Segs[0].Buf
	clear(b1[:HeaderSize])
	binary.LittleEndian.PutUint16(b1[10:], 2)
	n1 := copy(b1[HeaderSize:], want)
	n2 := copy(b2, want[n1:])
	q.Push(c1.Head, uint32(HeaderSize+n1))
	q.Push(c2.Head, uint32(n2))
	q.Signal()
	if got := <-r.got; !bytes.Equal(got, want) {
		t.Fatalf("merged frame: %d bytes", len(got))
	}
}

func TestTransmit(t *testing.T) {
	r := newRig(t, virtio.FVersion1|virtio.FRingEventIdx|FMAC)
	tq := r.m.Q[1]
	var frames [][]byte
	for i := 0; i < 10; i++ {
		frames = append(frames, frame(i, 64+i*100))
	}
	n, err := r.nic.Transmit(frames...)
	if n != 10 || err != nil {
		t.Fatalf("Transmit = %d, %v", n, err)
	}
	if r.m.Notifies.Load() == 0 {
		t.Fatal("no notification")
	}
	for i := 0; i < 10; i++ {
		c, ok, err := tq.Pop()
		if !ok || err != nil || len(c.Segs) != 1 || c.Segs[0].Write {
			t.Fatalf("tx chain %d: %+v %v %v", i, c, ok, err)
		}
		b := c.Segs[0].Buf
		if !bytes.Equal(b[:HeaderSize], make([]byte, HeaderSize)) || !bytes.Equal(b[HeaderSize:], frames[i]) {
			t.Fatalf("tx frame %d mangled", i)
		}
		tq.Push(c.Head, 0)
	}
	if _, err := r.nic.Transmit(make([]byte, 1515)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("oversized frame: %v", err)
	}
	// Fill the queue without completing: the excess is dropped, not blocked.
	var many [][]byte
	for i := 0; i < QueueSize+5; i++ {
		many = append(many, frame(i, 60))
	}
	n, err = r.nic.Transmit(many...)
	if n != QueueSize || !errors.Is(err, ErrNoBufs) {
		t.Fatalf("Transmit of %d = %d, %v", len(many), n, err)
	}
	// Completing them frees the buffers for the next Transmit.
	for {
		c, ok, _ := tq.Pop()
		if !ok {
			break
		}
		tq.Push(c.Head, 0)
	}
	if n, err := r.nic.Transmit(frame(1, 60)); n != 1 || err != nil {
		t.Fatalf("after completion: %d, %v", n, err)
	}
}

func TestNotANIC(t *testing.T) {
	p := devtest.New(1 << 20)
	devtest.NewVirtioMMIO(p, 0x1000, 5, virtio.TypeBlock, virtio.FVersion1, 1)
	tr, err := virtio.NewMMIO(p, virtio.MMIODevice{Base: 0x1000, Size: 0x200})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(p, tr, nil); err == nil {
		t.Fatal(fmt.Sprint("block device accepted as a NIC"))
	}
}

// FuzzReceive plays a misbehaving device: used receive buffers with
// arbitrary written lengths and num_buffers counts. The driver must not
// panic, must deliver only frames within its buffers, and must give every
// buffer back to the device.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{60, 0, 1, 0})
	f.Add([]byte{0xff, 0xff, 3, 0, 12, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 11, 0, 1, 0, 0x10, 0x08, 2, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		r := newRig(t, virtio.FVersion1|FMAC|FMrgRxbuf)
		q := r.m.Q[0]
		for i := 0; i+4 <= len(script) && i < 4*QueueSize; i += 4 {
			written := uint32(binary.LittleEndian.Uint16(script[i:])) * 2
			nbufs := binary.LittleEndian.Uint16(script[i+2:])
			c, ok, err := q.Pop()
			if !ok || err != nil {
				break
			}
			b := c.Segs[0].Buf
			clear(b[:HeaderSize])
			binary.LittleEndian.PutUint16(b[10:], nbufs)
			q.Push(c.Head, written)
		}
		// No interrupt: run the receive handler here, so that it is the
		// only one running.
		r.nic.onRX()
		for len(r.got) > 0 {
			if f := <-r.got; len(f) > BufSize*QueueSize {
				t.Fatalf("frame of %d bytes", len(f))
			}
		}
		if n := r.nic.rx.NumFree(); n != 0 {
			t.Fatalf("%d receive buffers not given back", n)
		}
	})
}
