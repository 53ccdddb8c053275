package socket

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Socket options (socket(7), tcp(7), ip(7), ipv6(7)). Integer options are
// 4-byte ints; timeouts are struct timeval; SO_LINGER is struct linger.

func putInt(v int) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(int32(v)))
	return b
}

func boolInt(v bool) []byte {
	if v {
		return putInt(1)
	}
	return putInt(0)
}

func getInt(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, unix.EINVAL
	}
	return int(int32(binary.LittleEndian.Uint32(b))), nil
}

func timeval(d time.Duration) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b, uint64(d/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second/time.Microsecond))
	return b
}

func parseTimeval(b []byte) (time.Duration, error) {
	if len(b) < 16 {
		return 0, unix.EINVAL
	}
	sec, usec := int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))
	if usec < 0 || usec >= 1e6 {
		return 0, unix.EDOM
	}
	if sec < 0 {
		return 0, nil // Linux treats a negative timeout as none
	}
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, nil
}

// GetSockOpt returns the value of option name at level (getsockopt(2));
// the caller truncates it to the app's optlen. ENOPROTOOPT for options
// gosv does not know.
func (s *Socket) GetSockOpt(level, name int) ([]byte, error) {
	so := s.ep.SocketOptions()
	switch level {
	case unix.SOL_SOCKET:
		switch name {
		case unix.SO_TYPE:
			return putInt(s.stype), nil
		case unix.SO_DOMAIN:
			return putInt(s.family), nil
		case unix.SO_PROTOCOL:
			return putInt(s.protocol), nil
		case unix.SO_ACCEPTCONN:
			return boolInt(s.Listening()), nil
		case unix.SO_ERROR:
			err := Errno(s.ep.LastError())
			if err == nil {
				return putInt(0), nil
			}
			return putInt(int(err.(unix.Errno))), nil
		case unix.SO_REUSEADDR:
			return boolInt(so.GetReuseAddress()), nil
		case unix.SO_REUSEPORT:
			return boolInt(so.GetReusePort()), nil
		case unix.SO_KEEPALIVE:
			return boolInt(so.GetKeepAlive()), nil
		case unix.SO_BROADCAST:
			return boolInt(so.GetBroadcast()), nil
		case unix.SO_OOBINLINE:
			return boolInt(so.GetOutOfBandInline()), nil
		case unix.SO_RCVBUF:
			return putInt(int(so.GetReceiveBufferSize())), nil
		case unix.SO_SNDBUF:
			return putInt(int(so.GetSendBufferSize())), nil
		case unix.SO_RCVLOWAT:
			return putInt(int(so.GetRcvlowat())), nil
		case unix.SO_SNDLOWAT:
			return putInt(1), nil
		case unix.SO_LINGER:
			l := so.GetLinger()
			b := make([]byte, 8)
			if l.Enabled {
				binary.LittleEndian.PutUint32(b, 1)
			}
			binary.LittleEndian.PutUint32(b[4:], uint32(l.Timeout/time.Second))
			return b, nil
		case unix.SO_RCVTIMEO:
			return timeval(s.timeout(true)), nil
		case unix.SO_SNDTIMEO:
			return timeval(s.timeout(false)), nil
		}
	case unix.IPPROTO_TCP:
		if s.protocol != unix.IPPROTO_TCP {
			return nil, unix.EOPNOTSUPP
		}
		switch name {
		case unix.TCP_NODELAY:
			return boolInt(!so.GetDelayOption()), nil
		case unix.TCP_CORK:
			return boolInt(so.GetCorkOption()), nil
		case unix.TCP_QUICKACK:
			return boolInt(so.GetQuickAck()), nil
		case unix.TCP_MAXSEG:
			v, err := s.ep.GetSockOptInt(tcpip.MaxSegOption)
			return putInt(v), Errno(err)
		case unix.TCP_KEEPCNT:
			v, err := s.ep.GetSockOptInt(tcpip.KeepaliveCountOption)
			return putInt(v), Errno(err)
		case unix.TCP_KEEPIDLE:
			var v tcpip.KeepaliveIdleOption
			err := s.ep.GetSockOpt(&v)
			return putInt(int(time.Duration(v) / time.Second)), Errno(err)
		case unix.TCP_KEEPINTVL:
			var v tcpip.KeepaliveIntervalOption
			err := s.ep.GetSockOpt(&v)
			return putInt(int(time.Duration(v) / time.Second)), Errno(err)
		case unix.TCP_SYNCNT:
			v, err := s.ep.GetSockOptInt(tcpip.TCPSynCountOption)
			return putInt(v), Errno(err)
		case unix.TCP_USER_TIMEOUT:
			var v tcpip.TCPUserTimeoutOption
			err := s.ep.GetSockOpt(&v)
			return putInt(int(time.Duration(v) / time.Millisecond)), Errno(err)
		case unix.TCP_DEFER_ACCEPT:
			var v tcpip.TCPDeferAcceptOption
			err := s.ep.GetSockOpt(&v)
			return putInt(int(time.Duration(v) / time.Second)), Errno(err)
		}
	case unix.IPPROTO_IP:
		if s.family != unix.AF_INET {
			break
		}
		switch name {
		case unix.IP_TTL:
			v, err := s.ep.GetSockOptInt(tcpip.IPv4TTLOption)
			if v == 0 {
				v = 64 // the default TTL
			}
			return putInt(v), Errno(err)
		case unix.IP_TOS:
			v, err := s.ep.GetSockOptInt(tcpip.IPv4TOSOption)
			return putInt(v), Errno(err)
		}
	case unix.IPPROTO_IPV6:
		if s.family != unix.AF_INET6 {
			break
		}
		switch name {
		case unix.IPV6_V6ONLY:
			return boolInt(so.GetV6Only()), nil
		case unix.IPV6_UNICAST_HOPS:
			v, err := s.ep.GetSockOptInt(tcpip.IPv6HopLimitOption)
			if v < 0 {
				v = 64
			}
			return putInt(v), Errno(err)
		}
	}
	return nil, unix.ENOPROTOOPT
}

// SetSockOpt sets option name at level to val (setsockopt(2)).
func (s *Socket) SetSockOpt(level, name int, val []byte) error {
	so := s.ep.SocketOptions()
	switch level {
	case unix.SOL_SOCKET:
		switch name {
		case unix.SO_RCVTIMEO, unix.SO_SNDTIMEO:
			d, err := parseTimeval(val)
			if err != nil {
				return err
			}
			s.mu.Lock()
			if name == unix.SO_RCVTIMEO {
				s.rcvTimeout = d
			} else {
				s.sndTimeout = d
			}
			s.mu.Unlock()
			return nil
		case unix.SO_LINGER:
			if len(val) < 8 {
				return unix.EINVAL
			}
			so.SetLinger(tcpip.LingerOption{
				Enabled: binary.LittleEndian.Uint32(val) != 0,
				Timeout: time.Duration(int32(binary.LittleEndian.Uint32(val[4:]))) * time.Second,
			})
			return nil
		}
		v, err := getInt(val)
		if err != nil {
			return err
		}
		switch name {
		case unix.SO_REUSEADDR:
			so.SetReuseAddress(v != 0)
		case unix.SO_REUSEPORT:
			so.SetReusePort(v != 0)
		case unix.SO_KEEPALIVE:
			so.SetKeepAlive(v != 0)
		case unix.SO_BROADCAST:
			so.SetBroadcast(v != 0)
		case unix.SO_OOBINLINE:
			so.SetOutOfBandInline(v != 0)
		case unix.SO_RCVBUF:
			// Linux doubles the value to leave room for bookkeeping.
			so.SetReceiveBufferSize(int64(max(v, 0))*2, true)
		case unix.SO_SNDBUF:
			so.SetSendBufferSize(int64(max(v, 0))*2, true)
		case unix.SO_RCVLOWAT:
			return Errno(so.SetRcvlowat(int32(v)))
		case unix.SO_PRIORITY, unix.SO_SNDLOWAT, unix.SO_TIMESTAMP, unix.SO_PASSCRED:
			// Accepted and without effect here.
		default:
			return unix.ENOPROTOOPT
		}
		return nil
	case unix.IPPROTO_TCP:
		if s.protocol != unix.IPPROTO_TCP {
			return unix.EOPNOTSUPP
		}
		v, err := getInt(val)
		if err != nil {
			return err
		}
		switch name {
		case unix.TCP_NODELAY:
			so.SetDelayOption(v == 0)
		case unix.TCP_CORK:
			so.SetCorkOption(v != 0)
		case unix.TCP_QUICKACK:
			so.SetQuickAck(v != 0)
		case unix.TCP_MAXSEG:
			return Errno(s.ep.SetSockOptInt(tcpip.MaxSegOption, v))
		case unix.TCP_KEEPCNT:
			if v < 1 || v > 127 {
				return unix.EINVAL
			}
			return Errno(s.ep.SetSockOptInt(tcpip.KeepaliveCountOption, v))
		case unix.TCP_KEEPIDLE, unix.TCP_KEEPINTVL:
			if v < 1 || v > 32767 {
				return unix.EINVAL
			}
			if name == unix.TCP_KEEPIDLE {
				o := tcpip.KeepaliveIdleOption(time.Duration(v) * time.Second)
				return Errno(s.ep.SetSockOpt(&o))
			}
			o := tcpip.KeepaliveIntervalOption(time.Duration(v) * time.Second)
			return Errno(s.ep.SetSockOpt(&o))
		case unix.TCP_SYNCNT:
			return Errno(s.ep.SetSockOptInt(tcpip.TCPSynCountOption, v))
		case unix.TCP_USER_TIMEOUT:
			if v < 0 {
				return unix.EINVAL
			}
			o := tcpip.TCPUserTimeoutOption(time.Duration(v) * time.Millisecond)
			return Errno(s.ep.SetSockOpt(&o))
		case unix.TCP_DEFER_ACCEPT:
			o := tcpip.TCPDeferAcceptOption(time.Duration(max(v, 0)) * time.Second)
			return Errno(s.ep.SetSockOpt(&o))
		case unix.TCP_FASTOPEN, unix.TCP_FASTOPEN_CONNECT:
			// Accepted; connections use the ordinary handshake.
		default:
			return unix.ENOPROTOOPT
		}
		return nil
	case unix.IPPROTO_IP:
		if s.family != unix.AF_INET {
			return unix.ENOPROTOOPT
		}
		v, err := getInt(val)
		if err != nil {
			return err
		}
		switch name {
		case unix.IP_TTL:
			if v == -1 {
				v = 0
			}
			if v < 0 || v > 255 {
				return unix.EINVAL
			}
			return Errno(s.ep.SetSockOptInt(tcpip.IPv4TTLOption, v))
		case unix.IP_TOS:
			return Errno(s.ep.SetSockOptInt(tcpip.IPv4TOSOption, v&0xff))
		case unix.IP_RECVERR, unix.IP_MTU_DISCOVER:
			return nil
		}
		return unix.ENOPROTOOPT
	case unix.IPPROTO_IPV6:
		if s.family != unix.AF_INET6 {
			return unix.ENOPROTOOPT
		}
		v, err := getInt(val)
		if err != nil {
			return err
		}
		switch name {
		case unix.IPV6_V6ONLY:
			so.SetV6Only(v != 0)
			return nil
		case unix.IPV6_UNICAST_HOPS:
			if v < -1 || v > 255 {
				return unix.EINVAL
			}
			return Errno(s.ep.SetSockOptInt(tcpip.IPv6HopLimitOption, v))
		case unix.IPV6_RECVERR, unix.IPV6_MTU_DISCOVER:
			return nil
		}
		return unix.ENOPROTOOPT
	}
	return unix.ENOPROTOOPT
}
