// Package net is the virtio-net driver: it negotiates VIRTIO_F_VERSION_1,
// VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS (when offered; Firecracker does not)
// and VIRTIO_NET_F_MRG_RXBUF over either transport, keeps the receive queue
// full of DMA buffers, and moves Ethernet frames between the device and one
// receiver function (the kernel's netstack link endpoint).
//
// Receive runs in the device's interrupt goroutine: each interrupt drains
// every used receive buffer (many frames per interrupt), hands each frame
// to the receiver, and gives the buffer back to the device with one
// notification for the batch. Transmit copies frames into DMA buffers and
// notifies once per batch; completed transmit buffers are reclaimed on the
// next transmit, so transmit needs no interrupts. Checksum and segmentation
// offloads are not negotiated: netstack computes checksums.
package net

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gosv/gosv/kernel/dev"
	"github.com/gosv/gosv/kernel/dev/virtio"
)

// Feature bits (virtio 1.2 section 5.1.3).
const (
	FCsum      = 1 << 0
	FGuestCsum = 1 << 1
	FMTU       = 1 << 3
	FMAC       = 1 << 5
	FMrgRxbuf  = 1 << 15
	FStatus    = 1 << 16
)

// Device configuration offsets and the link status bit.
const (
	cfgMAC       = 0
	cfgStatus    = 6
	cfgMTU       = 10
	statusLinkUp = 1
)

// HeaderSize is struct virtio_net_hdr with num_buffers, the header every
// VERSION_1 device uses.
const HeaderSize = 12

// Sizes of the driver's buffers.
const (
	// MaxFrame is the largest Ethernet frame without FCS (1500-byte MTU).
	MaxFrame = 1514
	// BufSize is the size of each receive and transmit buffer.
	BufSize = 2048
	// QueueSize is the number of descriptors the driver asks for.
	QueueSize = 256
)

// Errors of Transmit.
var (
	ErrTooBig     = errors.New("virtio-net: frame larger than the MTU")
	ErrNoBufs     = errors.New("virtio-net: transmit queue full")
	ErrNotStarted = errors.New("virtio-net: card not started")
)

// NIC is one virtio-net device.
type NIC struct {
	dev    *virtio.Device
	rx, tx *virtio.Queue
	mac    [6]byte
	mtu    int
	mrg    bool
	status bool

	rxMem bufs
	recv  func(frame []byte)
	merge []byte // frames spread over several buffers (MRG_RXBUF)

	txMu   sync.Mutex
	txMem  bufs
	txFree []int // free transmit buffer indices

	linkUp  atomic.Bool
	started atomic.Bool
	// Counters.
	RxFrames, RxDropped, TxFrames, TxDropped atomic.Uint64
}

// New negotiates features and sets the queues up. recv receives every
// frame (without the virtio header); the slice is valid only during the
// call. The device starts moving frames at Start.
func New(p dev.Platform, t virtio.Transport, recv func(frame []byte)) (*NIC, error) {
	if t.DeviceType() != virtio.TypeNet {
		return nil, fmt.Errorf("%v: device type %d is not a network card", t, t.DeviceType())
	}
	d := virtio.NewDevice(p, t)
	if err := d.Negotiate(FMAC | FStatus | FMrgRxbuf | FMTU); err != nil {
		return nil, err
	}
	n := &NIC{dev: d, recv: recv, mrg: d.Has(FMrgRxbuf), status: d.Has(FStatus), mtu: 1500}
	if d.Has(FMAC) {
		copy(n.mac[:], d.ReadConfig(cfgMAC, 6))
	} else {
		// No MAC from the device: a fixed locally administered one.
		n.mac = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	}
	if d.Has(FMTU) {
		if m := int(binary.LittleEndian.Uint16(d.ReadConfig(cfgMTU, 2))); m >= 68 && m < 1500 {
			n.mtu = m
		}
	}
	var err error
	if n.rx, err = d.SetupQueue(0, QueueSize, n.onRX); err != nil {
		d.Fail()
		return nil, err
	}
	if n.tx, err = d.SetupQueue(1, QueueSize, n.onTX); err != nil {
		d.Fail()
		return nil, err
	}
	if n.rxMem, err = allocBufs(p, n.rx.Size()); err != nil {
		d.Fail()
		return nil, err
	}
	if n.txMem, err = allocBufs(p, n.tx.Size()); err != nil {
		d.Fail()
		return nil, err
	}
	for i := n.tx.Size() - 1; i >= 0; i-- {
		n.txFree = append(n.txFree, i)
	}
	return n, nil
}

// MAC is the card's Ethernet address.
func (n *NIC) MAC() [6]byte { return n.mac }

// MTU is the largest IP packet the card carries.
func (n *NIC) MTU() int { return n.mtu }

// LinkUp reports the link status (always up without VIRTIO_NET_F_STATUS).
func (n *NIC) LinkUp() bool { return n.linkUp.Load() }

// Features returns the negotiated feature bits.
func (n *NIC) Features() uint64 { return n.dev.Features }

func (n *NIC) String() string { return n.dev.T.String() }

// Start fills the receive queue, starts the interrupt goroutine(s) and
// sets DRIVER_OK.
func (n *NIC) Start() error {
	for i := 0; i < n.rx.Size(); i++ {
		if err := n.postRX(i); err != nil {
			return err
		}
	}
	// Transmit completions are reclaimed by Transmit itself.
	n.tx.DisableInterrupts()
	if err := n.dev.Start(n.onConfig); err != nil {
		return err
	}
	n.onConfig()
	n.started.Store(true)
	n.rx.Kick()
	return nil
}

func (n *NIC) postRX(i int) error {
	return n.rx.Add([]virtio.Seg{{Addr: n.rxMem.phys(i), Len: BufSize, Write: true}}, i)
}

func (n *NIC) onConfig() {
	if !n.status {
		n.linkUp.Store(true)
		return
	}
	st := binary.LittleEndian.Uint16(n.dev.ReadConfig(cfgStatus, 2))
	n.linkUp.Store(st&statusLinkUp != 0)
}

// onRX runs in the interrupt goroutine: it drains every used receive
// buffer, then re-arms the interrupt, looping if buffers arrived meanwhile.
func (n *NIC) onRX() {
	for {
		n.rx.DisableInterrupts()
		for n.receiveOne() {
		}
		n.rx.Kick()
		if !n.rx.EnableInterrupts() {
			return
		}
	}
}

// receiveOne handles one used chain (or, with MRG_RXBUF, the chains of one
// frame); it reports whether there was one.
func (n *NIC) receiveOne() bool {
	tok, written, ok := n.rx.Next()
	if !ok {
		return false
	}
	i := tok.(int)
	buf := n.rxMem.buf(i)
	if written < HeaderSize || written > BufSize {
		n.RxDropped.Add(1)
		n.repost(i)
		return true
	}
	nbufs := 1
	if n.mrg {
		nbufs = int(binary.LittleEndian.Uint16(buf[10:]))
	}
	if nbufs <= 1 {
		n.RxFrames.Add(1)
		if n.recv != nil {
			n.recv(buf[HeaderSize:written])
		}
		n.repost(i)
		return true
	}
	// A frame spread over nbufs buffers: gather it.
	n.merge = append(n.merge[:0], buf[HeaderSize:written]...)
	n.repost(i)
	for k := 1; k < nbufs; k++ {
		tok, w, ok := n.rx.Next()
		if !ok {
			n.RxDropped.Add(1)
			return true
		}
		j := tok.(int)
		if w > BufSize {
			w = BufSize
		}
		n.merge = append(n.merge, n.rxMem.buf(j)[:w]...)
		n.repost(j)
	}
	n.RxFrames.Add(1)
	if n.recv != nil {
		n.recv(n.merge)
	}
	return true
}

func (n *NIC) repost(i int) {
	// The buffer just came back, so a descriptor is free.
	_ = n.postRX(i)
}

func (n *NIC) onTX() {
	n.txMu.Lock()
	n.reclaimTX()
	n.txMu.Unlock()
}

// reclaimTX returns completed transmit buffers to the free list.
func (n *NIC) reclaimTX() {
	for {
		tok, _, ok := n.tx.Next()
		if !ok {
			return
		}
		n.txFree = append(n.txFree, tok.(int))
	}
}

// Transmit sends Ethernet frames (without FCS), notifying the device once.
// It returns how many it queued; the rest were dropped because the queue
// was full (ErrNoBufs) or a frame was too big (ErrTooBig).
func (n *NIC) Transmit(frames ...[]byte) (int, error) {
	if !n.started.Load() {
		// The stack may send (IPv6 router solicitations) as soon as the
		// NIC is attached; the device's queues exist only after Start.
		n.TxDropped.Add(uint64(len(frames)))
		return 0, ErrNotStarted
	}
	n.txMu.Lock()
	n.reclaimTX()
	sent := 0
	var err error
	for _, f := range frames {
		if len(f) > n.mtu+14 || len(f) > BufSize-HeaderSize {
			n.TxDropped.Add(1)
			err = ErrTooBig
			continue
		}
		if len(n.txFree) == 0 {
			n.TxDropped.Add(uint64(len(frames) - sent))
			err = ErrNoBufs
			break
		}
		i := n.txFree[len(n.txFree)-1]
		n.txFree = n.txFree[:len(n.txFree)-1]
		buf := n.txMem.buf(i)
		clear(buf[:HeaderSize])
		copy(buf[HeaderSize:], f)
		if e := n.tx.Add([]virtio.Seg{{Addr: n.txMem.phys(i), Len: uint32(HeaderSize + len(f))}}, i); e != nil {
			n.txFree = append(n.txFree, i)
			n.TxDropped.Add(1)
			err = ErrNoBufs
			break
		}
		sent++
	}
	n.TxFrames.Add(uint64(sent))
	n.txMu.Unlock()
	if sent > 0 {
		n.tx.Kick()
	}
	return sent, err
}

// bufs are packet buffers of BufSize bytes, two to a page: drivers ask
// the platform for single pages, never for large contiguous blocks.
type bufs []dev.DMA

const bufsPerPage = 4096 / BufSize

func allocBufs(p dev.Platform, n int) (bufs, error) {
	var b bufs
	for i := 0; i < n; i += bufsPerPage {
		m, err := p.AllocDMA(bufsPerPage * BufSize)
		if err != nil {
			return nil, err
		}
		b = append(b, m)
	}
	return b, nil
}

func (b bufs) buf(i int) []byte {
	off := i % bufsPerPage * BufSize
	return b[i/bufsPerPage].Buf[off : off+BufSize]
}

func (b bufs) phys(i int) uint64 {
	return b[i/bufsPerPage].Phys + uint64(i%bufsPerPage*BufSize)
}
