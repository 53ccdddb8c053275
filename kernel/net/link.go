package net

import (
	"sync"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Link is a network card as the link endpoint sees it: Ethernet frames
// (without FCS) go out through Transmit; received frames come in through
// Endpoint.Deliver, which the card's driver calls.
type Link interface {
	MAC() [6]byte
	// MTU is the largest IP packet (1500 on Ethernet).
	MTU() int
	// Transmit queues frames and returns how many it took; frames it did
	// not take are dropped (TCP retransmits). It must not keep the slices.
	Transmit(frames ...[]byte) (int, error)
}

// Endpoint is a netstack link endpoint (stack.LinkEndpoint) for an
// Ethernet Link.
type Endpoint struct {
	link Link
	addr tcpip.LinkAddress

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher
	mtu        uint32
	onClose    func()

	// Transmit scratch space, reused: the frames of one batch are
	// flattened into scratch (offs holds their bounds).
	txMu    sync.Mutex
	scratch []byte
	offs    []int
	frames  [][]byte
}

// NewEndpoint returns the link endpoint of a card.
func NewEndpoint(l Link) *Endpoint {
	mac := l.MAC()
	return &Endpoint{link: l, addr: tcpip.LinkAddress(mac[:]), mtu: uint32(l.MTU())}
}

var _ stack.LinkEndpoint = (*Endpoint)(nil)

func (e *Endpoint) MTU() uint32 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.mtu
}

func (e *Endpoint) SetMTU(mtu uint32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if mtu <= uint32(e.link.MTU()) {
		e.mtu = mtu
	}
}

func (e *Endpoint) MaxHeaderLength() uint16                 { return header.EthernetMinimumSize }
func (e *Endpoint) LinkAddress() tcpip.LinkAddress          { return e.addr }
func (e *Endpoint) SetLinkAddress(tcpip.LinkAddress)        {}
func (e *Endpoint) Wait()                                   {}
func (e *Endpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

func (e *Endpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired
}

func (e *Endpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dispatcher = d
}

func (e *Endpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

func (e *Endpoint) Close() {
	e.mu.Lock()
	f := e.onClose
	e.onClose = nil
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

func (e *Endpoint) SetOnCloseAction(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onClose = f
}

// AddHeader pushes the Ethernet header.
func (e *Endpoint) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	src := pkt.EgressRoute.LocalLinkAddress
	if src == "" {
		src = e.addr
	}
	eth.Encode(&header.EthernetFields{
		SrcAddr: src,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

// ParseHeader consumes the Ethernet header.
func (e *Endpoint) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// WritePackets flattens each packet into one frame and transmits the batch
// with one call (one device notification).
func (e *Endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.txMu.Lock()
	defer e.txMu.Unlock()
	e.frames, e.scratch, e.offs = e.frames[:0], e.scratch[:0], e.offs[:0]
	for _, pkt := range pkts.AsSlice() {
		start := len(e.scratch)
		for _, s := range pkt.AsSlices() {
			e.scratch = append(e.scratch, s...)
		}
		e.offs = append(e.offs, start, len(e.scratch))
	}
	// Slice after appending: scratch may have moved while growing.
	for i := 0; i < len(e.offs); i += 2 {
		e.frames = append(e.frames, e.scratch[e.offs[i]:e.offs[i+1]])
	}
	if len(e.frames) == 0 {
		return 0, nil
	}
	n, _ := e.link.Transmit(e.frames...)
	if n == 0 {
		return 0, &tcpip.ErrNoBufferSpace{}
	}
	return n, nil
}

// Deliver hands a received Ethernet frame to the stack. The frame is
// copied; the caller may reuse it at once. Runts and frames that arrive
// before the NIC is attached are dropped.
func (e *Endpoint) Deliver(frame []byte) {
	if len(frame) < header.EthernetMinimumSize {
		return
	}
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil {
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	defer pkt.DecRef()
	if !e.ParseHeader(pkt) {
		return
	}
	eth := header.Ethernet(pkt.LinkHeader().Slice())
	switch dst := eth.DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst == e.addr:
		pkt.PktType = tcpip.PacketHost
	default:
		pkt.PktType = tcpip.PacketOtherHost
	}
	d.DeliverNetworkPacket(eth.Type(), pkt)
}
