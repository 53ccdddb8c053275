package virtio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gosv/gosv/kernel/dev"
)

// Split virtqueue layout (virtio 1.2 section 2.7). The three parts live in
// separate DMA blocks (a modern device takes three addresses), so that a
// queue of up to 256 entries needs no more than single pages:
//
//	descriptor table  16*N bytes   {addr u64, len u32, flags u16, next u16}
//	available ring    4+2*N+2      {flags u16, idx u16, ring[N] u16, used_event u16}
//	used ring         4+8*N+2      {flags u16, idx u16, ring[N] {id u32, len u32}, avail_event u16}
//
// N is a power of two, so used_event and avail_event are 4-byte aligned,
// and every index the two sides share is read and written with one 32-bit
// atomic access (each block has room for the 2 bytes after the trailing
// event field).
const (
	descNext     = 1 // VIRTQ_DESC_F_NEXT
	descWrite    = 2 // VIRTQ_DESC_F_WRITE: the device writes this buffer
	descIndirect = 4 // VIRTQ_DESC_F_INDIRECT

	availNoInterrupt = 1 // VIRTQ_AVAIL_F_NO_INTERRUPT
	usedNoNotify     = 1 // VIRTQ_USED_F_NO_NOTIFY

	descSize = 16
)

// Errors the virtqueue returns.
var (
	ErrQueueFull = errors.New("virtqueue full")
	ErrBadChain  = errors.New("virtqueue: empty or oversized buffer chain")
)

// Seg is one element of a scatter-gather buffer: guest-physical address,
// length, and whether the device writes it (device-writable segments must
// follow all device-readable ones).
type Seg struct {
	Addr  uint64
	Len   uint32
	Write bool
}

// Sizes of the three parts of a split virtqueue of size n.
func partSizes(n int) (desc, avail, used int) {
	return descSize * n, 4 + 2*n + 4, 4 + 8*n + 4
}

// Queue is a split virtqueue as the driver sees it. Its methods are safe for
// concurrent use; the usual pattern is one goroutine adding buffers and the
// interrupt goroutine collecting completions.
type Queue struct {
	Index int // queue number within the device

	mu       sync.Mutex
	size     uint16
	desc     dev.DMA
	avail    dev.DMA
	used     dev.DMA
	eventIdx bool
	notify   func()

	// Free descriptors form a list threaded through the descriptors'
	// next fields.
	freeHead uint16
	numFree  int

	// Indirect tables: one per descriptor head, maxInd entries each,
	// perPage of them in each page of ind.
	ind     []dev.DMA
	maxInd  int
	perPage int

	availIdx   uint16 // next free slot in the available ring (shadow of avail.idx)
	availFlags uint16
	kickedIdx  uint16 // avail.idx when the device was last notified
	lastUsed   uint16 // next used ring entry to consume

	tokens []any    // token of the chain whose head is the index
	chain  []uint16 // descriptors used by the chain whose head is the index (1 if indirect)
}

// newQueue builds a queue of size n (a power of two) in fresh DMA memory.
// maxInd > 0 enables indirect descriptor tables of that many entries.
func newQueue(p dev.Platform, index, n, maxInd int, eventIdx bool, notify func()) (*Queue, error) {
	if n < 2 || n > 32768 || n&(n-1) != 0 {
		return nil, fmt.Errorf("virtqueue %d: size %d is not a power of two in [2, 32768]", index, n)
	}
	q := &Queue{
		Index:    index,
		size:     uint16(n),
		eventIdx: eventIdx,
		notify:   notify,
		tokens:   make([]any, n),
		chain:    make([]uint16, n),
		numFree:  n,
	}
	ds, as, us := partSizes(n)
	for _, part := range []struct {
		m    *dev.DMA
		size int
	}{{&q.desc, ds}, {&q.avail, as}, {&q.used, us}} {
		m, err := p.AllocDMA(part.size)
		if err != nil {
			return nil, fmt.Errorf("virtqueue %d: %w", index, err)
		}
		*part.m = m
	}
	for i := 0; i < n; i++ {
		q.putDesc(uint16(i), 0, 0, 0, uint16(i+1))
	}
	if maxInd > 1 {
		q.maxInd = maxInd
		q.perPage = max(1, pageSize/(maxInd*descSize))
		for i := 0; i < n; i += q.perPage {
			m, err := p.AllocDMA(q.perPage * maxInd * descSize)
			if err != nil {
				return nil, fmt.Errorf("virtqueue %d indirect tables: %w", index, err)
			}
			q.ind = append(q.ind, m)
		}
	}
	return q, nil
}

// Size is the number of descriptors.
func (q *Queue) Size() int { return int(q.size) }

// DescAddr, DriverAddr and DeviceAddr are the guest-physical addresses of
// the descriptor table, available ring and used ring for the transport.
func (q *Queue) DescAddr() uint64   { return q.desc.Phys }
func (q *Queue) DriverAddr() uint64 { return q.avail.Phys }
func (q *Queue) DeviceAddr() uint64 { return q.used.Phys }

// pageSize is the unit of DMA allocations.
const pageSize = 4096

func word(m dev.DMA, off int) *uint32 {
	return (*uint32)(unsafe.Pointer(&m.Buf[off]))
}

// indTable returns the indirect table of chain head h and its address.
func (q *Queue) indTable(h uint16) ([]byte, uint64) {
	m := q.ind[int(h)/q.perPage]
	off := int(h) % q.perPage * q.maxInd * descSize
	return m.Buf[off : off+q.maxInd*descSize], m.Phys + uint64(off)
}

func putDescAt(b []byte, addr uint64, n uint32, flags, next uint16) {
	_ = b[15]
	*(*uint64)(unsafe.Pointer(&b[0])) = addr
	*(*uint32)(unsafe.Pointer(&b[8])) = n
	*(*uint16)(unsafe.Pointer(&b[12])) = flags
	*(*uint16)(unsafe.Pointer(&b[14])) = next
}

func (q *Queue) putDesc(i uint16, addr uint64, n uint32, flags, next uint16) {
	putDescAt(q.desc.Buf[int(i)*descSize:], addr, n, flags, next)
}

func (q *Queue) descNextOf(i uint16) uint16 {
	return *(*uint16)(unsafe.Pointer(&q.desc.Buf[int(i)*descSize+14]))
}

// publishAvail stores avail.flags and avail.idx in one atomic write, which
// also orders every earlier descriptor and ring write before it.
func (q *Queue) publishAvail() {
	atomic.StoreUint32(word(q.avail, 0), uint32(q.availFlags)|uint32(q.availIdx)<<16)
}

func (q *Queue) usedWord() uint32 { return atomic.LoadUint32(word(q.used, 0)) }

// Add makes a buffer chain available to the device. token is returned by
// Next when the device has used the chain. Add does not notify the device;
// call Kick after adding one or more chains. A chain of several segments
// takes one descriptor when indirect descriptors were negotiated.
func (q *Queue) Add(segs []Seg, token any) error {
	n := len(segs)
	if n == 0 || n > int(q.size) && (q.maxInd == 0 || n > q.maxInd) {
		return ErrBadChain
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.numFree == 0 {
		return ErrQueueFull
	}
	var head uint16
	if n > 1 && n <= q.maxInd {
		head = q.freeHead
		q.freeHead = q.descNextOf(head)
		q.numFree--
		tbl, tblAddr := q.indTable(head)
		for i, s := range segs {
			var fl uint16
			if s.Write {
				fl |= descWrite
			}
			if i < n-1 {
				fl |= descNext
			}
			putDescAt(tbl[i*descSize:], s.Addr, s.Len, fl, uint16(i+1))
		}
		q.putDesc(head, tblAddr, uint32(n*descSize), descIndirect, 0)
		q.chain[head] = 1
	} else {
		if q.numFree < n {
			return ErrQueueFull
		}
		head = q.freeHead
		d := head
		for i, s := range segs {
			next := q.descNextOf(d)
			var fl uint16
			if s.Write {
				fl |= descWrite
			}
			if i < n-1 {
				fl |= descNext
			}
			q.putDesc(d, s.Addr, s.Len, fl, next)
			if i < n-1 {
				d = next
			} else {
				q.freeHead = next
			}
		}
		q.numFree -= n
		q.chain[head] = uint16(n)
	}
	q.tokens[head] = token
	ring := 4 + 2*int(q.availIdx&(q.size-1))
	*(*uint16)(unsafe.Pointer(&q.avail.Buf[ring])) = head
	q.availIdx++
	q.publishAvail()
	return nil
}

// NumFree is the number of free descriptors.
func (q *Queue) NumFree() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.numFree
}

// needEvent is vring_need_event of the virtio spec: whether moving an index
// from old to new crossed the other side's event index.
func needEvent(event, new, old uint16) bool {
	return new-event-1 < new-old
}

// Kick notifies the device of newly added buffers, unless the device has
// said it does not need the notification (VIRTQ_USED_F_NO_NOTIFY, or with
// EVENT_IDX its avail_event index not crossed). It reports whether it
// notified.
func (q *Queue) Kick() bool {
	q.mu.Lock()
	old, new := q.kickedIdx, q.availIdx
	q.kickedIdx = new
	var need bool
	if old == new {
		need = false
	} else if q.eventIdx {
		// The atomic load after publishAvail's atomic store is ordered
		// after it (a full barrier on x86: the store is an XCHG).
		ev := uint16(atomic.LoadUint32(word(q.used, 4+8*int(q.size))))
		need = needEvent(ev, new, old)
	} else {
		need = q.usedWord()&usedNoNotify == 0
	}
	q.mu.Unlock()
	if need {
		q.notify()
	}
	return need
}

// Next returns the next chain the device has used, with its token and the
// number of bytes the device wrote into it. ok is false when no used chain
// is pending. An entry naming a descriptor that is not the head of an
// outstanding chain (a device bug) is skipped.
func (q *Queue) Next() (token any, written uint32, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		usedIdx := uint16(q.usedWord() >> 16)
		if usedIdx == q.lastUsed {
			return nil, 0, false
		}
		e := 4 + 8*int(q.lastUsed&(q.size-1))
		id := atomic.LoadUint32(word(q.used, e))
		written = atomic.LoadUint32(word(q.used, e+4))
		q.lastUsed++
		if id >= uint32(q.size) || q.chain[id] == 0 {
			continue
		}
		head := uint16(id)
		n := q.chain[head]
		// Return the chain's descriptors to the free list.
		last := head
		for i := uint16(1); i < n; i++ {
			last = q.descNextOf(last)
		}
		q.putDesc(last, 0, 0, 0, q.freeHead)
		q.freeHead = head
		q.numFree += int(n)
		q.chain[head] = 0
		token = q.tokens[head]
		q.tokens[head] = nil
		return token, written, true
	}
}

// DisableInterrupts asks the device not to interrupt for this queue (a
// hint; without EVENT_IDX it sets VIRTQ_AVAIL_F_NO_INTERRUPT, with EVENT_IDX
// it simply stops advancing used_event).
func (q *Queue) DisableInterrupts() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.eventIdx && q.availFlags&availNoInterrupt == 0 {
		q.availFlags |= availNoInterrupt
		q.publishAvail()
	}
}

// EnableInterrupts asks the device to interrupt at its next used buffer and
// reports whether used buffers are already pending, in which case the
// caller must drain them with Next (the device may not interrupt for them).
func (q *Queue) EnableInterrupts() (pending bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.eventIdx {
		// used_event = lastUsed: interrupt when the device writes entry
		// lastUsed, i.e. as soon as anything new is used.
		atomic.StoreUint32(word(q.avail, 4+2*int(q.size)), uint32(q.lastUsed))
	} else if q.availFlags&availNoInterrupt != 0 {
		q.availFlags &^= availNoInterrupt
		q.publishAvail()
	}
	// The atomic store above is a full barrier before this load.
	return uint16(q.usedWord()>>16) != q.lastUsed
}
