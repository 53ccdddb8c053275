package socket

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Errno translates a netstack error to the errno Linux returns in the same
// situation (nil for nil). gVisor's syserr package does this too, but it
// pulls in safecopy, whose init installs host signal handlers that the
// kernel's runtime does not have.
func Errno(err tcpip.Error) error {
	switch err.(type) {
	case nil:
		return nil
	case *tcpip.ErrAborted, *tcpip.ErrConnectionAborted:
		return unix.ECONNABORTED
	case *tcpip.ErrAddressFamilyNotSupported:
		return unix.EAFNOSUPPORT
	case *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState, *tcpip.ErrInvalidOptionValue,
		*tcpip.ErrInvalidPortRange, *tcpip.ErrMulticastInputCannotBeOutput, *tcpip.ErrMissingRequiredFields:
		return unix.EINVAL
	case *tcpip.ErrAlreadyConnected:
		return unix.EISCONN
	case *tcpip.ErrAlreadyConnecting:
		return unix.EALREADY
	case *tcpip.ErrConnectStarted:
		return unix.EINPROGRESS
	case *tcpip.ErrBadAddress, *tcpip.ErrBadBuffer:
		return unix.EFAULT
	case *tcpip.ErrBadLocalAddress:
		return unix.EADDRNOTAVAIL
	case *tcpip.ErrBroadcastDisabled, *tcpip.ErrNotPermitted:
		return unix.EACCES
	case *tcpip.ErrClosedForReceive:
		return unix.EWOULDBLOCK
	case *tcpip.ErrClosedForSend:
		return unix.EPIPE
	case *tcpip.ErrConnectionRefused:
		return unix.ECONNREFUSED
	case *tcpip.ErrConnectionReset:
		return unix.ECONNRESET
	case *tcpip.ErrDestinationRequired:
		return unix.EDESTADDRREQ
	case *tcpip.ErrDuplicateAddress, *tcpip.ErrPortInUse:
		return unix.EADDRINUSE
	case *tcpip.ErrDuplicateNICID, *tcpip.ErrEndpointBusy:
		return unix.EEXIST
	case *tcpip.ErrInvalidNICID, *tcpip.ErrUnknownNICID, *tcpip.ErrUnknownDevice:
		return unix.ENODEV
	case *tcpip.ErrMalformedHeader:
		return unix.EINVAL
	case *tcpip.ErrMessageTooLong:
		return unix.EMSGSIZE
	case *tcpip.ErrNetworkUnreachable:
		return unix.ENETUNREACH
	case *tcpip.ErrHostUnreachable:
		return unix.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		return unix.EHOSTDOWN
	case *tcpip.ErrNoNet:
		return unix.ENONET
	case *tcpip.ErrNoBufferSpace:
		return unix.ENOBUFS
	case *tcpip.ErrNoPortAvailable:
		return unix.EAGAIN
	case *tcpip.ErrNoSuchFile:
		return unix.ENOENT
	case *tcpip.ErrNotConnected:
		return unix.ENOTCONN
	case *tcpip.ErrNotSupported, *tcpip.ErrQueueSizeNotSupported:
		return unix.EOPNOTSUPP
	case *tcpip.ErrTimeout:
		return unix.ETIMEDOUT
	case *tcpip.ErrUnknownProtocol:
		return unix.EINVAL
	case *tcpip.ErrUnknownProtocolOption:
		return unix.ENOPROTOOPT
	case *tcpip.ErrWouldBlock:
		return unix.EWOULDBLOCK
	}
	return unix.EIO
}
