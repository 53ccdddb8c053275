package net

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"

	"github.com/gosv/gosv/kernel/dev/devtest"
	"github.com/gosv/gosv/kernel/dev/virtio"
	vnet "github.com/gosv/gosv/kernel/dev/virtio/net"
)

// backend is the host side of a fake virtio-net card: frames the guest
// transmits go to the peer stack's endpoint; frames the peer transmits are
// written into the guest's receive buffers, one interrupt per batch.
type backend struct {
	m        *devtest.VirtioMMIO
	txMu     sync.Mutex
	peer     *Endpoint
	toPeer   chan []byte
	fromPeer chan []byte
	rxKick   chan struct{}
	done     chan struct{}
}

func (b *backend) MAC() [6]byte { return [6]byte{0x52, 0x55, 0x0a, 0, 2, 2} }
func (b *backend) MTU() int     { return 1500 }
func (b *backend) Transmit(frames ...[]byte) (int, error) {
	for i, f := range frames {
		select {
		case b.fromPeer <- append([]byte(nil), f...):
		case <-b.done:
			return i, nil
		}
	}
	return len(frames), nil
}

// notify runs when the driver notifies a queue.
func (b *backend) notify(q int) {
	if q == 0 {
		select {
		case b.rxKick <- struct{}{}:
		default:
		}
		return
	}
	b.txMu.Lock()
	defer b.txMu.Unlock()
	tq := b.m.Q[1]
	for {
		c, ok, err := tq.Pop()
		if err != nil || !ok {
			return
		}
		var f []byte
		for _, s := range c.Segs {
			f = append(f, s.Buf...)
		}
		tq.Push(c.Head, 0)
		if len(f) > vnet.HeaderSize {
			select {
			case b.toPeer <- f[vnet.HeaderSize:]:
			case <-b.done:
				return
			}
		}
	}
}

func (b *backend) deliverToPeer() {
	for {
		select {
		case f := <-b.toPeer:
			b.peer.Deliver(f)
		case <-b.done:
			return
		}
	}
}

// receive writes the peer's frames into the guest's receive queue; it
// interrupts when no more frames are waiting.
func (b *backend) receive() {
	rq := b.m.Q[0]
	for {
		var f []byte
		select {
		case f = <-b.fromPeer:
		case <-b.done:
			return
		}
		for {
			c, ok, _ := rq.Pop()
			if ok {
				buf := c.Segs[0].Buf
				clear(buf[:vnet.HeaderSize])
				binary.LittleEndian.PutUint16(buf[10:], 1)
				n := copy(buf[vnet.HeaderSize:], f)
				rq.Push(c.Head, uint32(vnet.HeaderSize+n))
				break
			}
			rq.Signal() // let the driver drain and repost
			select {
			case <-b.rxKick:
			case <-b.done:
				return
			}
		}
		if len(b.fromPeer) == 0 {
			rq.Signal()
		}
	}
}

// TestVirtioNetStack runs TCP between a stack on the virtio-net driver
// (over the fake virtio-mmio device) and a peer stack on the device's
// back end.
func TestVirtioNetStack(t *testing.T) {
	p := devtest.New(16 << 20)
	m := devtest.NewVirtioMMIO(p, 0xfeb02e00, 47, virtio.TypeNet,
		virtio.FVersion1|virtio.FRingEventIdx|virtio.FRingIndirectDesc|vnet.FMAC|vnet.FStatus|vnet.FMrgRxbuf, 2)
	m.Config = []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0}
	be := &backend{m: m, toPeer: make(chan []byte, 1024), fromPeer: make(chan []byte, 1024),
		rxKick: make(chan struct{}, 1), done: make(chan struct{})}
	m.OnNotify = be.notify

	guest, err := NewStack(Options{})
	if err != nil {
		t.Fatal(err)
	}
	host, err := NewStack(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := virtio.NewMMIO(p, virtio.MMIODevice{Base: 0xfeb02e00, Size: 0x200, GSI: 47, Level: true})
	if err != nil {
		t.Fatal(err)
	}
	var ep *Endpoint
	nic, err := vnet.New(p, tr, func(f []byte) { ep.Deliver(f) })
	if err != nil {
		t.Fatal(err)
	}
	gn, err := guest.AddNIC(nic, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ep = gn.Endpoint
	hn, err := host.AddNIC(be, Config{Addr: netip.MustParsePrefix("10.0.2.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	be.peer = hn.Endpoint
	go be.deliverToPeer()
	t.Cleanup(func() {
		close(be.done)
		guest.S.Close()
		host.S.Close()
	})
	if err := nic.Start(); err != nil {
		t.Fatal(err)
	}
	// The device reads the receive queue only once the driver set it up.
	go be.receive()
	transfer(t, guest, host, netip.MustParseAddrPort("10.0.2.2:8080"), 1<<20)
	transfer(t, host, guest, netip.MustParseAddrPort("10.0.2.15:80"), 1<<20)
	if nic.RxFrames.Load() == 0 || nic.TxFrames.Load() == 0 {
		t.Fatalf("frames rx %d tx %d", nic.RxFrames.Load(), nic.TxFrames.Load())
	}
	t.Logf("rx %d frames in %d interrupts; tx %d frames in %d notifications",
		nic.RxFrames.Load(), m.Interrupts.Load(), nic.TxFrames.Load(), m.Notifies.Load())
}
