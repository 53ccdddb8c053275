package linux

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Pipes and FIFOs (pipe(7), fifo(7)), with the buffer of Linux's
// fs/pipe.c: a ring of 16 page-sized slots (64 KiB). A write first tops up
// the last slot with the part of its size below a page, then fills fresh
// slots; a read drains slots from the head and frees each one emptied.
// So writes of at most PIPE_BUF bytes go in whole, and a full pipe takes
// new data only once a reader has emptied a whole slot. Reads block while
// the pipe is empty and has writers, and return 0 (end of file) once every
// writer is gone; writes block while no slot is free; writing with no
// reader left raises SIGPIPE and fails with EPIPE. Both wait through the
// pipe's wait queue (Task.waitOn), so a signal ends them with EINTR.
// O_DIRECT makes a "packet" pipe (pipe2(2)): each write of up to a page
// is one packet and each read returns at most one packet.

const (
	pipeBuf     = task.PageSize // PIPE_BUF
	pipeDefault = 16            // slots: 64 KiB
	pipeMaxRoot = 16 << 20      // largest F_SETPIPE_SZ accepted
)

// pipeInos numbers pipes as pipefs does ("pipe:[N]").
var pipeInos atomic.Uint64

func init() { pipeInos.Store(4000) }

// pipeSlot is one page of the ring: its bytes are page[off:off+n].
type pipeSlot struct {
	page   []byte
	off, n int
	packet bool // written in O_DIRECT mode: never merged, read whole
}

type pipe struct {
	mu    sync.Mutex
	bufs  []pipeSlot // queue, at most slots long
	slots int        // capacity in pages
	n     int        // bytes stored
	spare []byte     // a freed page kept for the next slot

	readers, writers int
	rOpens, wOpens   uint64 // opens so far, for the blocking opens of a FIFO

	// The queue wakes blocked readers, writers and openers and the
	// waiters on both ends (poll, epoll).
	task.WaitQueue

	ino   uint64
	ctime vfs.Timespec
}

func newPipe() *pipe {
	return &pipe{
		slots: pipeDefault,
		ino:   pipeInos.Add(1),
		ctime: vfs.TimespecOf(time.Now()),
	}
}

// capacity is F_GETPIPE_SZ.
func (p *pipe) capacity() int { return p.slots * task.PageSize }

// A pipe notifies its queue with eventsIn at every write, eventsOut when
// a read frees a slot of a full pipe, and eventsAll at opens, closes and
// resizes, as pipe_write, pipe_read and pipe_release wake their waiters.

func (p *pipe) read(t *task.Task, b []byte, nonblock bool) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	k := 0
	err := blockOn(t, p, eventsIn|waiter.EventHUp, nonblock, func() (bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.bufs) == 0 {
			return p.writers == 0, nil // end of file once every writer is gone
		}
		k = p.readLocked(b)
		return true, nil
	})
	return k, err
}

// readLocked moves data from the ring to b. p.mu must be held. Like
// pipe_read, it wakes writers only when the pipe was full: only then can
// a writer be blocked, and an edge-triggered EPOLLOUT fires only then.
func (p *pipe) readLocked(b []byte) int {
	wasFull := len(p.bufs) >= p.slots
	k := 0
	for k < len(b) && len(p.bufs) > 0 {
		s := &p.bufs[0]
		c := copy(b[k:], s.page[s.off:s.off+s.n])
		k += c
		s.off += c
		s.n -= c
		p.n -= c
		packet := s.packet
		if packet {
			p.n -= s.n // the rest of a packet is discarded
			s.n = 0
		}
		if s.n == 0 {
			p.spare = s.page
			p.bufs[0] = pipeSlot{}
			p.bufs = p.bufs[1:]
		}
		if packet {
			break
		}
	}
	if len(p.bufs) == 0 {
		p.bufs = nil
	}
	if wasFull && len(p.bufs) < p.slots {
		p.Notify(eventsOut)
	}
	return k
}

func (p *pipe) write(t *task.Task, b []byte, nonblock, packet bool) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, err := p.doWrite(t, b, nonblock, packet)
	if err == unix.EPIPE {
		// No reader: SIGPIPE, and EPIPE unless some bytes went in.
		t.P.SendSignal(t, task.Siginfo{Signo: int32(unix.SIGPIPE), Pid: int32(t.P.Pid())})
		if n > 0 {
			return n, nil
		}
	}
	return n, err
}

// doWrite writes b, waiting for free slots; a write cut short by
// O_NONBLOCK or a signal returns the bytes written so far, if any.
func (p *pipe) doWrite(t *task.Task, b []byte, nonblock, packet bool) (int, error) {
	done := 0
	first := true
	err := blockOn(t, p, eventsOut|waiter.EventErr, nonblock, func() (bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.readers == 0 {
			return false, unix.EPIPE
		}
		if first {
			first = false
			// Top up the last slot with the sub-page part of the write.
			if chars := len(b) % task.PageSize; chars > 0 && len(p.bufs) > 0 && !packet {
				s := &p.bufs[len(p.bufs)-1]
				if !s.packet && s.off+s.n+chars <= task.PageSize {
					copy(s.page[s.off+s.n:], b[:chars])
					s.n += chars
					p.n += chars
					done = chars
					p.Notify(eventsIn)
					if done == len(b) {
						return true, nil
					}
				}
			}
		}
		for len(p.bufs) < p.slots {
			page := p.spare
			if page == nil {
				page = make([]byte, task.PageSize)
			}
			p.spare = nil
			c := copy(page, b[done:])
			p.bufs = append(p.bufs, pipeSlot{page: page, n: c, packet: packet})
			p.n += c
			done += c
			p.Notify(eventsIn)
			if done == len(b) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil && err != unix.EPIPE && done > 0 {
		return done, nil
	}
	return done, err
}

// setSize implements F_SETPIPE_SZ: the capacity becomes n rounded up to a
// power of two of at least a page; EBUSY if the data would not fit,
// EINVAL beyond 2 GiB, EPERM beyond pipeMaxRoot (a gosv limit).
func (p *pipe) setSize(n uint32) (int, error) {
	if n > 1<<31 {
		return 0, unix.EINVAL
	}
	if n > pipeMaxRoot {
		return 0, unix.EPERM
	}
	size := task.PageSize
	for uint32(size) < n {
		size <<= 1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bufs) > size/task.PageSize {
		return 0, unix.EBUSY
	}
	p.slots = size / task.PageSize
	p.Notify(eventsAll)
	return size, nil
}

// pipeEnd is an open file description of a pipe: the read or write end
// of pipe(2), or a FIFO opened for reading, writing or both.
type pipeEnd struct {
	p                 *pipe
	canRead, canWrite bool
	flags             atomic.Int32 // status flags (O_NONBLOCK)
	wSeen             uint64       // writers' opens seen at open (FIFO EPOLLHUP)
	closed            atomic.Bool
}

func newPipeEnd(p *pipe, read, write bool, flags int) *pipeEnd {
	e := &pipeEnd{p: p, canRead: read, canWrite: write}
	e.flags.Store(int32(flags))
	return e
}

func (e *pipeEnd) nonblock() bool { return e.flags.Load()&unix.O_NONBLOCK != 0 }

func (e *pipeEnd) Read(t *task.Task, b []byte) (int, error) {
	if !e.canRead {
		return 0, unix.EBADF
	}
	return e.p.read(t, b, e.nonblock())
}

func (e *pipeEnd) Write(t *task.Task, b []byte) (int, error) {
	if !e.canWrite {
		return 0, unix.EBADF
	}
	return e.p.write(t, b, e.nonblock(), e.flags.Load()&unix.O_DIRECT != 0)
}

func (e *pipeEnd) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	p := e.p
	p.mu.Lock()
	if e.canRead {
		p.readers--
	}
	if e.canWrite {
		p.writers--
	}
	if p.readers == 0 && p.writers == 0 {
		// The last close frees the buffer: a FIFO opened later is empty.
		p.bufs, p.n, p.spare = nil, 0, nil
	}
	p.Notify(eventsAll)
	p.mu.Unlock()
	return nil
}

// SetFlags applies fcntl(F_SETFL).
func (e *pipeEnd) SetFlags(flags int) { e.flags.Store(int32(flags)) }

// FDName is the /proc/self/fd link of a pipe.
func (e *pipeEnd) FDName() string { return "pipe:[" + strconv.FormatUint(e.p.ino, 10) + "]" }

func (e *pipeEnd) statFS() (vfs.Stat, error) {
	return vfs.Stat{Dev: anonDev, Ino: e.p.ino, Nlink: 1, Mode: vfs.S_IFIFO | 0o600, Blksize: task.PageSize,
		Atime: e.p.ctime, Mtime: e.p.ctime, Ctime: e.p.ctime}, nil
}

func (e *pipeEnd) Stat() (unix.Stat_t, error) {
	st, err := e.statFS()
	return toStatT(st), err
}

// Ioctl answers FIONREAD: the bytes waiting in the pipe.
func (e *pipeEnd) Ioctl(t *task.Task, req, arg uintptr) (uintptr, error) {
	if req != fionread {
		return 0, unix.ENOTTY
	}
	e.p.mu.Lock()
	n := e.p.n
	e.p.mu.Unlock()
	return 0, t.WriteU32(arg, uint32(n))
}

// Readiness reports EPOLLIN when there is data, EPOLLHUP when all
// writers are gone (read side), EPOLLOUT when a slot is free, EPOLLERR
// when no reader is left (write side), as pipe_poll does.
func (e *pipeEnd) Readiness(mask waiter.EventMask) waiter.EventMask {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var ev uint32
	if e.canRead {
		if len(p.bufs) > 0 {
			ev |= unix.EPOLLIN | unix.EPOLLRDNORM
		}
		if p.writers == 0 && p.wOpens != e.wSeen {
			ev |= unix.EPOLLHUP
		}
	}
	if e.canWrite {
		if len(p.bufs) < p.slots {
			ev |= unix.EPOLLOUT | unix.EPOLLWRNORM
		}
		if p.readers == 0 {
			ev |= unix.EPOLLERR
		}
	}
	return readyFor(ev, mask)
}

// EventRegister adds en to the pipe's queue, shared by both ends.
func (e *pipeEnd) EventRegister(en *waiter.Entry) error { return e.p.EventRegister(en) }

// EventUnregister removes en from the pipe's queue.
func (e *pipeEnd) EventUnregister(en *waiter.Entry) { e.p.EventUnregister(en) }

// newPipeFiles creates a pipe and its two ends (pipe2(2)).
func newPipeFiles(flags int) (r, w *pipeEnd) {
	p := newPipe()
	p.readers, p.writers = 1, 1
	p.rOpens, p.wOpens = 1, 1
	st := flags & (unix.O_NONBLOCK | unix.O_DIRECT)
	return newPipeEnd(p, true, false, unix.O_RDONLY|st), newPipeEnd(p, false, true, unix.O_WRONLY|st)
}

func sysPipe2(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(a[1])
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return 0, unix.EINVAL
	}
	r, w := newPipeFiles(flags)
	cloexec := flags&unix.O_CLOEXEC != 0
	fds := t.P.FDs
	st := flags & (unix.O_NONBLOCK | unix.O_DIRECT)
	rfd, err := fds.Install(r, unix.O_RDONLY|st, cloexec, 0)
	if err != nil {
		r.Close()
		w.Close()
		return 0, err
	}
	wfd, err := fds.Install(w, unix.O_WRONLY|st, cloexec, 0)
	if err != nil {
		fds.Close(rfd)
		w.Close()
		return 0, err
	}
	var b [8]byte
	le.PutUint32(b[0:], uint32(rfd))
	le.PutUint32(b[4:], uint32(wfd))
	if err := t.CopyOut(a[0], b[:]); err != nil {
		fds.Close(rfd)
		fds.Close(wfd)
		return 0, err
	}
	return 0, nil
}

// fifoFile is a FIFO of the filesystem opened for reading or writing: a
// pipe end whose pipe lives on the inode (vfs.AuxHolder).
type fifoFile struct {
	*pipeEnd
	f    vfs.File
	loc  vfs.Loc
	path string
}

func (f *fifoFile) location() vfs.Loc         { return f.loc }
func (f *fifoFile) Path() string              { return f.path }
func (f *fifoFile) FDName() string            { return f.path }
func (f *fifoFile) statFS() (vfs.Stat, error) { return f.f.Stat() }

func (f *fifoFile) Stat() (unix.Stat_t, error) {
	st, err := f.f.Stat()
	return toStatT(st), err
}

// openFIFO opens the FIFO ff as open(2) does (fifo(7)): O_RDONLY waits for
// a writer and O_WRONLY for a reader unless O_NONBLOCK (then a writer
// without reader fails with ENXIO); O_RDWR never waits.
func openFIFO(t *task.Task, ff vfs.File, w vfs.Where, flags int) (task.File, error) {
	aux, ok := ff.Inode().(vfs.AuxHolder)
	if !ok {
		return nil, unix.ENXIO
	}
	p := aux.LoadOrStoreAux(newPipe()).(*pipe)
	nonblock := flags&unix.O_NONBLOCK != 0
	st := ff.Flags() &^ unix.O_ACCMODE
	// waitPartner waits until cond holds, with p.mu held while it runs.
	waitPartner := func(cond func() bool) error {
		return waitOn(t, []eventSource{p}, eventsAll, -1, func() (bool, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			return cond(), nil
		})
	}
	// undo withdraws an open whose wait was interrupted.
	undo := func(r, w int) {
		p.mu.Lock()
		p.readers -= r
		p.writers -= w
		p.Notify(eventsAll)
		p.mu.Unlock()
	}
	p.mu.Lock()
	var e *pipeEnd
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		p.readers++
		p.rOpens++
		p.Notify(eventsAll)
		e = newPipeEnd(p, true, false, unix.O_RDONLY|st)
		seen := p.wOpens
		e.wSeen = seen
		p.mu.Unlock()
		if !nonblock {
			// Wait for a writer: one open now, or one that opened (and
			// maybe closed again) since.
			if err := waitPartner(func() bool { return p.writers > 0 || p.wOpens != seen }); err != nil {
				undo(1, 0)
				return nil, err
			}
			e.wSeen = 0
		}
	case unix.O_WRONLY:
		if nonblock && p.readers == 0 {
			p.mu.Unlock()
			return nil, unix.ENXIO
		}
		p.writers++
		p.wOpens++
		p.Notify(eventsAll)
		e = newPipeEnd(p, false, true, unix.O_WRONLY|st)
		seen := p.rOpens
		p.mu.Unlock()
		if err := waitPartner(func() bool { return p.readers > 0 || p.rOpens != seen }); err != nil {
			undo(0, 1)
			return nil, err
		}
	default:
		p.readers++
		p.writers++
		p.rOpens++
		p.wOpens++
		p.Notify(eventsAll)
		e = newPipeEnd(p, true, true, unix.O_RDWR|st)
		p.mu.Unlock()
	}
	return &fifoFile{pipeEnd: e, f: ff, loc: w.Loc, path: w.Path}, nil
}

// reopenPipe opens a pipe again through /proc/self/fd/N, as Linux does
// for the pipe behind a magic link: like a FIFO, without waiting.
func reopenPipe(e *pipeEnd, flags int) task.File {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	st := flags & unix.O_NONBLOCK
	var ne *pipeEnd
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		p.readers++
		p.rOpens++
		ne = newPipeEnd(p, true, false, unix.O_RDONLY|st)
	case unix.O_WRONLY:
		p.writers++
		p.wOpens++
		ne = newPipeEnd(p, false, true, unix.O_WRONLY|st)
	default:
		p.readers++
		p.writers++
		p.rOpens++
		p.wOpens++
		ne = newPipeEnd(p, true, true, unix.O_RDWR|st)
	}
	p.Notify(eventsAll)
	return ne
}
