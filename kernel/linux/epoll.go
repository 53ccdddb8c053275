package linux

import (
	"math"
	"sync"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// epoll(7): epoll_create(2), epoll_create1(2), epoll_ctl(2),
// epoll_wait(2), epoll_pwait(2), epoll_pwait2(2).
func init() {
	register(unix.SYS_EPOLL_CREATE, "epoll_create", sysEpollCreate)
	register(unix.SYS_EPOLL_CREATE1, "epoll_create1", sysEpollCreate1)
	register(unix.SYS_EPOLL_CTL, "epoll_ctl", sysEpollCtl)
	register(unix.SYS_EPOLL_WAIT, "epoll_wait", sysEpollWait)
	register(unix.SYS_EPOLL_PWAIT, "epoll_pwait", sysEpollPwait)
	register(unix.SYS_EPOLL_PWAIT2, "epoll_pwait2", sysEpollPwait2)
}

const (
	// epollPrivateBits are flags of an interest, never reported.
	epollPrivateBits = unix.EPOLLWAKEUP | unix.EPOLLONESHOT | unix.EPOLLET | unix.EPOLLEXCLUSIVE
	// epollExclusiveOK are the bits allowed with EPOLLEXCLUSIVE.
	epollExclusiveOK = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLERR | unix.EPOLLHUP | unix.EPOLLWAKEUP | unix.EPOLLET | unix.EPOLLEXCLUSIVE
	epollMaxEvents   = math.MaxInt32 / epollEventSize
	epollEventSize   = 12 // struct epoll_event is packed on x86-64: u32 events, u64 data
	epollMaxNests    = 4  // EP_MAX_NESTS
)

// epollKey names an interest like Linux does: the fd and the open file
// description it referred to when added.
type epollKey struct {
	fd   int
	desc *task.FileFlags
}

// epollItem is one interest of an epoll instance. Its entry sits on the
// file's wait queue: the file's notifications put the item on the ready
// list (Linux's ep_poll_callback).
type epollItem struct {
	ep    *epollFile
	key   epollKey
	file  waiter.Waitable
	entry waiter.Entry
	// events and data change with both ep.mu and ep.readyMu held.
	events uint32 // requested events | EPOLLERR | EPOLLHUP | flags; only flags after EPOLLONESHOT fired
	data   uint64
	gone   bool // deleted; set with both locks held
	queued bool // on the ready list, or being harvested; under ep.readyMu
}

// epollFile is an epoll instance. Its mutex mu serialises epoll_ctl and
// harvesting, which call into the watched files (Readiness,
// EventRegister). The ready list has a lock of its own, readyMu, which
// the items' wait-queue callbacks take: they run while a file notifies,
// often with the file's own lock held, so they must not wait for mu (a
// harvest holding mu may be waiting for the file's lock). epoll_wait
// moves ready items out, checks their readiness and puts level-triggered
// ones back (ep_send_events).
type epollFile struct {
	mu    sync.Mutex
	items map[epollKey]*epollItem

	readyMu sync.Mutex
	ready   []*epollItem

	// The queue holds epoll_wait callers and waiters on the epoll fd
	// itself (poll, a nesting epoll); it is notified with eventsIn when
	// an item becomes ready.
	task.WaitQueue
}

// epollLoopMu serialises adding epoll instances to each other, so the loop
// check and the insertion are atomic (Linux's epnested_mutex).
var epollLoopMu sync.Mutex

func newEpoll() *epollFile { return &epollFile{items: map[epollKey]*epollItem{}} }

func (ep *epollFile) Read(t *task.Task, p []byte) (int, error)  { return 0, unix.EINVAL }
func (ep *epollFile) Write(t *task.Task, p []byte) (int, error) { return 0, unix.EINVAL }

func (ep *epollFile) Close() error {
	ep.mu.Lock()
	for _, it := range ep.items {
		ep.dropLocked(it)
	}
	ep.mu.Unlock()
	ep.readyMu.Lock()
	ep.ready = nil
	ep.readyMu.Unlock()
	return nil
}

func (ep *epollFile) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: task.PageSize}, nil
}

// Readiness: an epoll fd is readable when one of its ready items has
// events.
func (ep *epollFile) Readiness(mask waiter.EventMask) waiter.EventMask {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.readyMu.Lock()
	list := append([]*epollItem(nil), ep.ready...)
	ep.readyMu.Unlock()
	for _, it := range list {
		if it.gone {
			continue
		}
		want := it.events &^ epollPrivateBits
		if uint32(it.file.Readiness(waiter.EventMask(want)))&want != 0 {
			return waiter.EventMask(unix.EPOLLIN|unix.EPOLLRDNORM) & mask
		}
	}
	return 0
}

// notified is the wait-queue callback of an item: events of mask may have
// happened on its file. It only queues the item; its readiness is checked
// when harvested.
func (it *epollItem) notified(mask waiter.EventMask) {
	ep := it.ep
	ep.readyMu.Lock()
	if it.gone || it.queued || uint32(mask)&it.events&^epollPrivateBits == 0 {
		ep.readyMu.Unlock()
		return
	}
	it.queued = true
	ep.ready = append(ep.ready, it)
	ep.readyMu.Unlock()
	ep.Notify(eventsIn)
}

// dropLocked removes it from the instance and its entry from the file's
// queue. ep.mu must be held.
func (ep *epollFile) dropLocked(it *epollItem) {
	if it.gone {
		return
	}
	ep.readyMu.Lock()
	it.gone = true
	ep.readyMu.Unlock()
	delete(ep.items, it.key)
	it.file.EventUnregister(&it.entry)
}

// setLocked sets the events and data of it, and queues it if its file has
// events now; it reports whether waiters must be notified. ep.mu must be
// held. The events are set before the readiness is read: a notification
// that comes in between queues the item through notified.
func (ep *epollFile) setLocked(it *epollItem, events uint32, data uint64) bool {
	ep.readyMu.Lock()
	it.events, it.data = events, data
	ep.readyMu.Unlock()
	want := events &^ epollPrivateBits
	if want == 0 || uint32(it.file.Readiness(waiter.EventMask(want)))&want == 0 {
		return false
	}
	ep.readyMu.Lock()
	defer ep.readyMu.Unlock()
	if it.queued {
		return false
	}
	it.queued = true
	ep.ready = append(ep.ready, it)
	return true
}

// addLocked inserts an interest (EPOLL_CTL_ADD).
func (ep *epollFile) addLocked(key epollKey, w waiter.Waitable, events uint32, data uint64) (bool, error) {
	it := &epollItem{ep: ep, key: key, file: w}
	// The entry takes every notification; notified filters by events,
	// which EPOLL_CTL_MOD may change while it is registered.
	it.entry.Init(waiter.EventListener(epollListener{it}), eventsAll)
	if err := w.EventRegister(&it.entry); err != nil {
		return false, err
	}
	ep.items[key] = it
	return ep.setLocked(it, events, data), nil
}

// epollListener delivers an item's notifications to notified.
type epollListener struct{ it *epollItem }

func (l epollListener) NotifyEvent(mask waiter.EventMask) { l.it.notified(mask) }

// alive reports whether the open file description of an interest is still
// open in some fd (Linux removes interests when their file is closed).
func (k epollKey) alive() bool {
	k.desc.Mu.Lock()
	defer k.desc.Mu.Unlock()
	return k.desc.Refs > 0
}

type epollEvent struct {
	events uint32
	data   uint64
}

// harvest returns up to max events from the ready list (ep_send_events).
// Level-triggered interests that reported go back to the end of the list;
// edge-triggered ones wait for the next notification; one-shot ones are
// disabled. An item is marked not queued before its readiness is read, so
// a notification that comes during the harvest queues it again.
func (ep *epollFile) harvest(max int) []epollEvent {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.readyMu.Lock()
	list := ep.ready
	ep.ready = nil
	ep.readyMu.Unlock()
	var out []epollEvent
	var again []*epollItem
	i := 0
	for ; i < len(list) && len(out) < max; i++ {
		it := list[i]
		ep.readyMu.Lock()
		it.queued = false
		ep.readyMu.Unlock()
		if it.gone {
			continue
		}
		if !it.key.alive() {
			ep.dropLocked(it)
			continue
		}
		want := it.events &^ epollPrivateBits
		rev := uint32(it.file.Readiness(waiter.EventMask(want))) & want
		if rev == 0 {
			continue
		}
		out = append(out, epollEvent{rev, it.data})
		switch {
		case it.events&unix.EPOLLONESHOT != 0:
			ep.readyMu.Lock()
			it.events &= epollPrivateBits
			ep.readyMu.Unlock()
		case it.events&unix.EPOLLET == 0:
			again = append(again, it)
		}
	}
	// Put back what was not looked at, ahead of what was queued meanwhile,
	// and the level-triggered items that reported at the end.
	ep.readyMu.Lock()
	ready := append(list[i:len(list):len(list)], ep.ready...)
	for _, it := range again {
		if !it.queued {
			it.queued = true
			ready = append(ready, it)
		}
	}
	ep.ready = ready
	ep.readyMu.Unlock()
	return out
}

// reaches reports whether ep reaches target through nested epoll
// instances within depth levels (or nests deeper than allowed).
func (ep *epollFile) reaches(target *epollFile, depth int) bool {
	if depth > epollMaxNests {
		return true
	}
	ep.mu.Lock()
	var nested []*epollFile
	for _, it := range ep.items {
		if e, ok := it.file.(*epollFile); ok {
			nested = append(nested, e)
		}
	}
	ep.mu.Unlock()
	for _, e := range nested {
		if e == target || e.reaches(target, depth+1) {
			return true
		}
	}
	return false
}

// getDesc returns the file at fd and its open file description.
func getDesc(d *task.FDTable, fd int) (task.File, *task.FileFlags, error) {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	e, ok := d.Table[fd]
	if !ok {
		return nil, nil, unix.EBADF
	}
	return e.File, e.Flags, nil
}

func sysEpollCreate(t *task.Task, a task.Args) (uintptr, error) {
	if int32(a[0]) <= 0 {
		return 0, unix.EINVAL
	}
	return installEpoll(t, false)
}

func sysEpollCreate1(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(int32(a[0]))
	if flags&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	return installEpoll(t, flags&unix.EPOLL_CLOEXEC != 0)
}

func installEpoll(t *task.Task, cloexec bool) (uintptr, error) {
	fd, err := t.P.FDs.Install(newEpoll(), unix.O_RDWR, cloexec, 0)
	return uintptr(fd), err
}

// epoll_ctl(epfd, op, fd, event), with Linux's order of checks.
func sysEpollCtl(t *task.Task, a task.Args) (uintptr, error) {
	epfd, op, fd := int(int32(a[0])), int(int32(a[1])), int(int32(a[2]))
	var events uint32
	var data uint64
	if op != unix.EPOLL_CTL_DEL {
		var b [epollEventSize]byte
		if err := t.CopyIn(b[:], a[3]); err != nil {
			return 0, err
		}
		events, data = le.Uint32(b[0:]), le.Uint64(b[4:])
	}
	ef, err := t.P.FDs.Get(epfd)
	if err != nil {
		return 0, err
	}
	tf, desc, err := getDesc(t.P.FDs, fd)
	if err != nil {
		return 0, err
	}
	w, ok := tf.(waiter.Waitable)
	if _, notPollable := tf.(interface{ NotPollable() }); !ok || notPollable {
		return 0, unix.EPERM
	}
	target, targetIsEpoll := tf.(*epollFile)
	if op != unix.EPOLL_CTL_DEL && events&unix.EPOLLEXCLUSIVE != 0 {
		if op == unix.EPOLL_CTL_MOD || targetIsEpoll || events&^epollExclusiveOK != 0 {
			return 0, unix.EINVAL
		}
	}
	ep, ok := ef.(*epollFile)
	if !ok || ep == target {
		return 0, unix.EINVAL
	}
	if targetIsEpoll && op == unix.EPOLL_CTL_ADD {
		epollLoopMu.Lock()
		defer epollLoopMu.Unlock()
		if target.reaches(ep, 1) {
			return 0, unix.ELOOP
		}
	}
	events |= unix.EPOLLERR | unix.EPOLLHUP
	key := epollKey{fd, desc}
	ep.mu.Lock()
	it := ep.items[key]
	notify := false
	switch op {
	case unix.EPOLL_CTL_ADD:
		if it != nil {
			err = unix.EEXIST
		} else {
			notify, err = ep.addLocked(key, w, events, data)
		}
	case unix.EPOLL_CTL_MOD:
		switch {
		case it == nil:
			err = unix.ENOENT
		case it.events&unix.EPOLLEXCLUSIVE != 0:
			err = unix.EINVAL
		default:
			notify = ep.setLocked(it, events, data)
		}
	case unix.EPOLL_CTL_DEL:
		if it == nil {
			err = unix.ENOENT
		} else {
			ep.dropLocked(it)
		}
	default:
		err = unix.EINVAL
	}
	ep.mu.Unlock()
	if notify {
		ep.Notify(eventsIn)
	}
	return 0, err
}

// epollWait implements the epoll_wait family; timeout < 0 waits forever.
func epollWait(t *task.Task, epfd int, addr uintptr, maxevents int, timeout time.Duration) (uintptr, error) {
	if maxevents <= 0 || maxevents > epollMaxEvents {
		return 0, unix.EINVAL
	}
	f, err := t.P.FDs.Get(epfd)
	if err != nil {
		return 0, err
	}
	ep, ok := f.(*epollFile)
	if !ok {
		return 0, unix.EINVAL
	}
	var evs []epollEvent
	scan := func() bool {
		evs = ep.harvest(maxevents)
		return len(evs) > 0
	}
	if err := waitReady(t, []waiter.Waitable{ep}, eventsIn, timeout, scan); err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	b := make([]byte, epollEventSize*len(evs))
	for i, e := range evs {
		le.PutUint32(b[epollEventSize*i:], e.events)
		le.PutUint64(b[epollEventSize*i+4:], e.data)
	}
	if err := t.CopyOut(addr, b); err != nil {
		return 0, err
	}
	return uintptr(len(evs)), nil
}

// msTimeout converts a timeout in milliseconds (negative: infinite).
func msTimeout(ms int32) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

func sysEpollWait(t *task.Task, a task.Args) (uintptr, error) {
	return epollWait(t, int(int32(a[0])), a[1], int(int32(a[2])), msTimeout(int32(a[3])))
}

// epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize).
func sysEpollPwait(t *task.Task, a task.Args) (uintptr, error) {
	return withSigmask(t, a[4], a[5], func() (uintptr, error) {
		return epollWait(t, int(int32(a[0])), a[1], int(int32(a[2])), msTimeout(int32(a[3])))
	})
}

// epoll_pwait2(epfd, events, maxevents, timeout *timespec, sigmask, sigsetsize).
func sysEpollPwait2(t *task.Task, a task.Args) (uintptr, error) {
	timeout, err := timespecTimeout(t, a[3])
	if err != nil {
		return 0, err
	}
	return withSigmask(t, a[4], a[5], func() (uintptr, error) {
		return epollWait(t, int(int32(a[0])), a[1], int(int32(a[2])), timeout)
	})
}
