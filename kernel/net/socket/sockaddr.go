package socket

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Socket addresses as the app passes them (struct sockaddr_in and
// sockaddr_in6 of ip(7) and ipv6(7)): the family in host byte order, the
// port and address in network byte order.
const (
	sizeofSockaddrIn  = 16
	sizeofSockaddrIn6 = 28
)

// ParseSockaddr decodes the sockaddr b of a socket of family into a
// netstack address. An AF_INET6 socket takes AF_INET6 addresses (and
// IPv4-mapped ones); an AF_INET socket takes AF_INET ones, and AF_UNSPEC
// for INADDR_ANY as Linux's bind allows. Errors: EINVAL when b is short,
// EAFNOSUPPORT for another family.
func ParseSockaddr(family int, b []byte) (tcpip.FullAddress, error) {
	if len(b) < 2 {
		return tcpip.FullAddress{}, unix.EINVAL
	}
	fam := int(binary.LittleEndian.Uint16(b))
	switch {
	case family == unix.AF_INET && (fam == unix.AF_INET || fam == unix.AF_UNSPEC):
		if len(b) < sizeofSockaddrIn {
			return tcpip.FullAddress{}, unix.EINVAL
		}
		port := binary.BigEndian.Uint16(b[2:])
		addr := tcpip.AddrFrom4Slice(b[4:8])
		if fam == unix.AF_UNSPEC && !addr.Unspecified() {
			return tcpip.FullAddress{}, unix.EAFNOSUPPORT
		}
		if addr.Unspecified() {
			return tcpip.FullAddress{Port: port}, nil
		}
		return tcpip.FullAddress{Addr: addr, Port: port}, nil
	case family == unix.AF_INET6 && fam == unix.AF_INET6:
		if len(b) < sizeofSockaddrIn6 {
			return tcpip.FullAddress{}, unix.EINVAL
		}
		port := binary.BigEndian.Uint16(b[2:])
		addr := tcpip.AddrFrom16Slice(b[8:24])
		fa := tcpip.FullAddress{Port: port}
		if !addr.Unspecified() {
			fa.Addr = addr
		}
		if scope := binary.LittleEndian.Uint32(b[24:]); scope != 0 {
			fa.NIC = tcpip.NICID(scope)
		}
		return fa, nil
	case family == unix.AF_INET6 && fam == unix.AF_INET:
		// Linux's inet6 sockets refuse AF_INET sockaddrs.
		return tcpip.FullAddress{}, unix.EAFNOSUPPORT
	}
	return tcpip.FullAddress{}, unix.EAFNOSUPPORT
}

// EncodeSockaddr encodes a in the sockaddr of family (what getsockname,
// getpeername, accept and recvfrom return). An IPv4 address on an AF_INET6
// socket is written IPv4-mapped.
func EncodeSockaddr(family int, a tcpip.FullAddress) []byte {
	if family == unix.AF_INET {
		b := make([]byte, sizeofSockaddrIn)
		binary.LittleEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], a.Port)
		if a.Addr.Len() == 4 {
			v := a.Addr.As4()
			copy(b[4:], v[:])
		}
		return b
	}
	b := make([]byte, sizeofSockaddrIn6)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], a.Port)
	switch a.Addr.Len() {
	case 16:
		v := a.Addr.As16()
		copy(b[8:], v[:])
	case 4:
		v := a.Addr.As4()
		b[18], b[19] = 0xff, 0xff
		copy(b[20:], v[:])
	}
	return b
}
