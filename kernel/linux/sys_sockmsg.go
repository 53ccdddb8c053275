package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// sendmsg, recvmsg and their batched forms. struct msghdr (56 bytes):
// name, namelen, iov, iovlen, control, controllen, flags; struct mmsghdr
// adds msg_len (64 bytes). Control messages (cmsg(3)) are 16-byte headers
// (len, level, type) and data, each aligned to 8 bytes.
const (
	sizeofMsghdr  = 56
	sizeofMmsghdr = 64
	sizeofCmsghdr = 16
	scmRights     = 1
	maxRightsFDs  = 253 // SCM_MAX_FD
)

type msghdr struct {
	name       uintptr
	namelen    uint32
	iov        uintptr
	iovlen     uint64
	control    uintptr
	controllen uint64
	flags      int32
}

func readMsghdr(t *task.Task, addr uintptr) (msghdr, error) {
	var b [sizeofMsghdr]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return msghdr{}, err
	}
	return msghdr{
		name: uintptr(le.Uint64(b[0:])), namelen: le.Uint32(b[8:]),
		iov: uintptr(le.Uint64(b[16:])), iovlen: le.Uint64(b[24:]),
		control: uintptr(le.Uint64(b[32:])), controllen: le.Uint64(b[40:]),
		flags: int32(le.Uint32(b[48:])),
	}, nil
}

func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// parseRights takes the fds of the SCM_RIGHTS messages in control and
// holds their files; other control messages are ignored.
func parseRights(t *task.Task, control []byte) ([]any, error) {
	var rights []any
	release := func() {
		for _, r := range rights {
			r.(*task.HeldFile).Release()
		}
	}
	for len(control) >= sizeofCmsghdr {
		l := int(le.Uint64(control))
		level, typ := int32(le.Uint32(control[8:])), int32(le.Uint32(control[12:]))
		if l < sizeofCmsghdr || l > len(control) {
			release()
			return nil, unix.EINVAL
		}
		if level == unix.SOL_SOCKET && typ == scmRights {
			data := control[sizeofCmsghdr:l]
			if len(data)/4+len(rights) > maxRightsFDs {
				release()
				return nil, unix.EINVAL
			}
			for i := 0; i+4 <= len(data); i += 4 {
				h, err := t.P.FDs.Hold(int(int32(le.Uint32(data[i:]))))
				if err != nil {
					release()
					return nil, err
				}
				rights = append(rights, h)
			}
		}
		control = control[min(cmsgAlign(l), len(control)):]
	}
	return rights, nil
}

// msgArgs decodes the socket, the struct msghdr at addr and its iovec
// (EMSGSIZE beyond UIO_MAXIOV entries).
func msgArgs(t *task.Task, fd, addr uintptr) (*sockFile, msghdr, [][2]uintptr, error) {
	f, err := sockFD(t, fd)
	if err != nil {
		return nil, msghdr{}, nil, err
	}
	m, err := readMsghdr(t, addr)
	if err != nil {
		return nil, msghdr{}, nil, err
	}
	if m.iovlen > 1024 {
		return nil, msghdr{}, nil, unix.EMSGSIZE
	}
	iov, err := readIovec(t, m.iov, int(m.iovlen))
	if err != nil {
		return nil, msghdr{}, nil, err
	}
	return f, m, iov, nil
}

func sendmsg(t *task.Task, fd uintptr, addr uintptr, flags int) (int, error) {
	f, m, iov, err := msgArgs(t, fd, addr)
	if err != nil {
		return 0, err
	}
	buf, err := gather(t, iov)
	if err != nil {
		return 0, err
	}
	var to []byte
	if m.name != 0 && m.namelen != 0 {
		if to, err = readSockaddr(t, m.name, uintptr(m.namelen)); err != nil {
			return 0, err
		}
	}
	var rights []any
	if m.control != 0 && m.controllen >= sizeofCmsghdr {
		if m.controllen > 1<<16 {
			return 0, unix.ENOBUFS
		}
		control := make([]byte, m.controllen)
		if err := t.CopyIn(control, m.control); err != nil {
			return 0, err
		}
		if rights, err = parseRights(t, control); err != nil {
			return 0, err
		}
		if f.local == nil {
			for _, r := range rights {
				r.(*task.HeldFile).Release()
			}
			rights = nil
		}
	}
	n, err := f.send(t, buf, to, flags, rights)
	if err != nil || n == 0 {
		for _, r := range rights {
			r.(*task.HeldFile).Release()
		}
	}
	return n, err
}

func recvmsg(t *task.Task, fd uintptr, addr uintptr, flags int) (int, error) {
	f, m, iov, err := msgArgs(t, fd, addr)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, iovecLen(iov))
	n, from, mflags, rights, err := f.recvRights(t, buf, flags, m.name != 0)
	if err != nil {
		return 0, err
	}
	if _, err := scatter(t, iov, buf[:min(n, len(buf))]); err != nil {
		return 0, err
	}
	// msg_namelen (offset 8) is the full address length.
	if m.name != 0 {
		if from == nil {
			t.WriteU32(addr+8, 0)
		} else {
			if err := t.CopyOut(m.name, from[:min(len(from), int(m.namelen))]); err != nil {
				return 0, err
			}
			t.WriteU32(addr+8, uint32(len(from)))
		}
	}
	// Rights become fds of the receiver, as many as fit in the control
	// buffer (MSG_CTRUNC and the rest closed otherwise).
	var control []byte
	if len(rights) > 0 {
		room := (int(min(m.controllen, 1<<16)) - sizeofCmsghdr) / 4
		var fds []byte
		for i, r := range rights {
			h := r.(*task.HeldFile)
			if i >= room {
				h.Release()
				mflags |= unix.MSG_CTRUNC
				continue
			}
			nfd, err := t.P.FDs.InstallHeld(h, flags&unix.MSG_CMSG_CLOEXEC != 0)
			if err != nil {
				h.Release()
				mflags |= unix.MSG_CTRUNC
				continue
			}
			fds = le.AppendUint32(fds, uint32(nfd))
		}
		if len(fds) > 0 {
			control = make([]byte, sizeofCmsghdr, sizeofCmsghdr+len(fds))
			le.PutUint64(control, uint64(sizeofCmsghdr+len(fds)))
			le.PutUint32(control[8:], unix.SOL_SOCKET)
			le.PutUint32(control[12:], scmRights)
			control = append(control, fds...)
		}
	}
	if len(control) > 0 {
		if err := t.CopyOut(m.control, control); err != nil {
			return 0, err
		}
	}
	var b [8]byte
	le.PutUint64(b[:], uint64(len(control)))
	t.CopyOut(addr+40, b[:])
	t.WriteU32(addr+48, uint32(mflags))
	return n, nil
}

func sysSendmsg(t *task.Task, a task.Args) (uintptr, error) {
	n, err := sendmsg(t, a[0], a[1], int(a[2]))
	return uintptr(n), err
}

func sysRecvmsg(t *task.Task, a task.Args) (uintptr, error) {
	n, err := recvmsg(t, a[0], a[1], int(a[2]))
	return uintptr(n), err
}

// sendmmsg and recvmmsg handle up to UIO_MAXIOV messages and stop at the
// first error after at least one message (which they then report).
func sysSendmmsg(t *task.Task, a task.Args) (uintptr, error) {
	vlen := min(int(a[2]), 1024)
	i := 0
	for ; i < vlen; i++ {
		h := a[1] + uintptr(i)*sizeofMmsghdr
		n, err := sendmsg(t, a[0], h, int(a[3]))
		if err != nil {
			if i == 0 {
				return 0, err
			}
			break
		}
		if err := t.WriteU32(h+sizeofMsghdr, uint32(n)); err != nil {
			return 0, err
		}
	}
	return uintptr(i), nil
}

func sysRecvmmsg(t *task.Task, a task.Args) (uintptr, error) {
	vlen := min(int(a[2]), 1024)
	flags := int(a[3])
	i := 0
	for ; i < vlen; i++ {
		h := a[1] + uintptr(i)*sizeofMmsghdr
		n, err := recvmsg(t, a[0], h, flags)
		if err != nil {
			if i == 0 {
				return 0, err
			}
			break
		}
		if err := t.WriteU32(h+sizeofMsghdr, uint32(n)); err != nil {
			return 0, err
		}
		if flags&unix.MSG_WAITFORONE != 0 {
			flags |= unix.MSG_DONTWAIT
		}
	}
	return uintptr(i), nil
}
