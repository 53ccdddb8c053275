package net

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// NIC numbers: loopback is always 1; Ethernet cards follow.
const LoopbackNIC tcpip.NICID = 1

// Options tune NewStack.
type Options struct {
	// Rand is the source of randomness (TCP initial sequence numbers,
	// port choice, IPv6 temporary addresses). Nil: a ChaCha8 generator
	// seeded from the Go runtime's random state (which the runtime seeds
	// from the auxiliary vector's AT_RANDOM), so netstack never calls
	// getrandom itself.
	Rand io.Reader
	// NoIPv6 leaves IPv6 out.
	NoIPv6 bool
}

// Stack is the kernel's network stack.
type Stack struct {
	S    *stack.Stack
	nics []*NIC
}

// NIC is an Ethernet interface of the stack.
type NIC struct {
	ID       tcpip.NICID
	Name     string
	Endpoint *Endpoint
	Config   Config
}

type randSource struct{ r *rand.ChaCha8 }

func (s randSource) Int63() int64 { return int64(s.r.Uint64() >> 1) }
func (s randSource) Seed(int64)   {}

// NewStack creates the stack with its protocols and the loopback NIC
// (127.0.0.1/8 and ::1/128).
func NewStack(o Options) (*Stack, error) {
	var seed [32]byte
	for i := 0; i < 4; i++ {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			seed[i*8+j] = byte(v >> (8 * j))
		}
	}
	cc := rand.NewChaCha8(seed)
	rng := o.Rand
	if rng == nil {
		rng = cc
	}
	netProtos := []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol}
	transProtos := []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4}
	if !o.NoIPv6 {
		netProtos = append(netProtos, ipv6.NewProtocolWithOptions(ipv6.Options{
			AutoGenLinkLocal: true,
			NDPConfigs: ipv6.NDPConfigurations{
				HandleRAs:              ipv6.HandlingRAsEnabledWhenForwardingDisabled,
				DiscoverDefaultRouters: true,
				DiscoverOnLinkPrefixes: true,
				AutoGenGlobalAddresses: true,
				MaxRtrSolicitations:    3,
			},
		}))
		transProtos = append(transProtos, icmp.NewProtocol6)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   netProtos,
		TransportProtocols: transProtos,
		HandleLocal:        true,
		SecureRNG:          rng,
		RandSource:         randSource{rand.NewChaCha8(seed)},
	})
	// Linux's behaviour: Nagle on, SACK on, and the receive buffer grows
	// with use.
	delay := tcpip.TCPDelayEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &delay)
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	mod := tcpip.TCPModerateReceiveBufferOption(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod)

	if err := s.CreateNICWithOptions(LoopbackNIC, loopback.New(), stack.NICOptions{Name: "lo"}); err != nil {
		return nil, fmt.Errorf("loopback NIC: %v", err)
	}
	st := &Stack{S: s}
	if err := st.addAddr(LoopbackNIC, netip.MustParsePrefix("127.0.0.1/8")); err != nil {
		return nil, err
	}
	routes := []tcpip.Route{{Destination: subnet(netip.MustParsePrefix("127.0.0.0/8")), NIC: LoopbackNIC}}
	if !o.NoIPv6 {
		if err := st.addAddr(LoopbackNIC, netip.MustParsePrefix("::1/128")); err != nil {
			return nil, err
		}
		routes = append(routes, tcpip.Route{Destination: subnet(netip.MustParsePrefix("::1/128")), NIC: LoopbackNIC})
	}
	s.SetRouteTable(routes)
	return st, nil
}

func (st *Stack) addAddr(id tcpip.NICID, p netip.Prefix) error {
	proto := ipv4.ProtocolNumber
	if p.Addr().Is6() {
		proto = ipv6.ProtocolNumber
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          proto,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFromSlice(p.Addr().AsSlice()), PrefixLen: p.Bits()},
	}
	if err := st.S.AddProtocolAddress(id, pa, stack.AddressProperties{}); err != nil {
		return fmt.Errorf("NIC %d address %v: %v", id, p, err)
	}
	return nil
}

func subnet(p netip.Prefix) tcpip.Subnet {
	p = p.Masked()
	addr := tcpip.AddrFromSlice(p.Addr().AsSlice())
	bits := p.Addr().BitLen()
	mask := make([]byte, bits/8)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	sn, err := tcpip.NewSubnet(addr, tcpip.MaskFromBytes(mask))
	if err != nil {
		panic(err) // p is masked, so NewSubnet cannot fail
	}
	return sn
}

// AddNIC attaches an Ethernet card with configuration c and returns its
// link endpoint, whose Deliver the card's driver calls for each frame.
// The NICs are named eth0, eth1, ... The IPv4 address, the on-link route
// and the default route come from c; IPv6 uses the link-local address and
// what router advertisements offer.
func (st *Stack) AddNIC(l Link, c Config) (*NIC, error) {
	id := tcpip.NICID(len(st.nics) + 2)
	n := &NIC{ID: id, Name: fmt.Sprintf("eth%d", len(st.nics)), Endpoint: NewEndpoint(l), Config: c}
	if err := st.S.CreateNICWithOptions(id, n.Endpoint, stack.NICOptions{Name: n.Name}); err != nil {
		return nil, fmt.Errorf("%s: %v", n.Name, err)
	}
	routes := st.S.GetRouteTable()
	if c.Addr.IsValid() {
		if err := st.addAddr(id, c.Addr); err != nil {
			return nil, err
		}
		routes = append(routes, tcpip.Route{Destination: subnet(c.Addr), NIC: id})
	}
	if c.Gateway.IsValid() {
		routes = append(routes, tcpip.Route{
			Destination: header.IPv4EmptySubnet,
			Gateway:     tcpip.AddrFromSlice(c.Gateway.AsSlice()),
			NIC:         id,
		})
	}
	st.S.SetRouteTable(routes)
	st.nics = append(st.nics, n)
	return n, nil
}

// NICs returns the Ethernet interfaces.
func (st *Stack) NICs() []*NIC { return st.nics }
