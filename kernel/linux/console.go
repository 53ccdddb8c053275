package linux

import (
	"io"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Console is the app's terminal: stdin reads end of file; writes go to W
// (the VM console for stdout, the stderr port for stderr). It answers the
// terminal ioctls TCGETS and TIOCGWINSZ so the app sees a tty.
type Console struct {
	W    io.Writer
	TTY  bool   // answer TCGETS (isatty) as a terminal
	Name string // the device path it stands for (/proc/self/fd/N shows it)
}

// Path is the console's device path, for /proc/self/fd and maps.
func (c *Console) Path() string { return c.Name }

func (c *Console) Read(t *task.Task, p []byte) (int, error) { return 0, nil }

func (c *Console) Write(t *task.Task, p []byte) (int, error) {
	if c.W == nil {
		return len(p), nil
	}
	n, err := c.W.Write(p)
	if err != nil {
		return n, unix.EIO
	}
	return n, nil
}

func (c *Console) Close() error { return nil }

// Readiness: reads return at once (end of file on stdin) and writes never
// block, so a console is always readable and writable. Unlike a regular
// file (AlwaysReady) it is pollable, so epoll accepts it as it accepts a
// tty.
func (c *Console) Readiness(mask waiter.EventMask) waiter.EventMask {
	return waiter.EventMask(task.DefaultPollMask) & mask
}

// EventRegister does nothing: a console's readiness never changes.
func (c *Console) EventRegister(*waiter.Entry) error { return nil }

// EventUnregister does nothing.
func (c *Console) EventUnregister(*waiter.Entry) {}

func (c *Console) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: unix.S_IFCHR | 0o620, Rdev: 0x8800, Blksize: 1024, Nlink: 1, Ino: 3}, nil
}

// Ioctl: TCGETS returns a canonical-mode termios; TIOCGWINSZ 24x80; other
// requests ENOTTY (ioctl_tty(2)).
func (c *Console) Ioctl(t *task.Task, req, arg uintptr) (uintptr, error) {
	if !c.TTY {
		return 0, unix.ENOTTY
	}
	switch req {
	case unix.TCGETS:
		var b [60]byte // struct termios (kernel): 4 x u32 flags, u8 line, 19 cc
		le.PutUint32(b[0:], unix.ICRNL|unix.IXON)
		le.PutUint32(b[4:], unix.OPOST|unix.ONLCR)
		le.PutUint32(b[8:], unix.B38400|unix.CS8|unix.CREAD|unix.HUPCL)
		le.PutUint32(b[12:], unix.ISIG|unix.ICANON|unix.ECHO|unix.ECHOE|unix.ECHOK|unix.IEXTEN|unix.ECHOCTL|unix.ECHOKE)
		return 0, t.CopyOut(arg, b[:36])
	case unix.TIOCGWINSZ:
		var b [8]byte
		le.PutUint16(b[0:], 24)
		le.PutUint16(b[2:], 80)
		return 0, t.CopyOut(arg, b[:])
	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF, unix.TIOCSWINSZ:
		return 0, nil
	case unix.TIOCGPGRP:
		return 0, t.WriteU32(arg, 1)
	}
	return 0, unix.ENOTTY
}
