package machine

import "sync/atomic"

// spinlock is a test-and-set lock for level-0 data shared between CPUs.
// Holders run with interrupts disabled (every level-0 path does).
type spinlock struct{ v uint32 }

//go:nosplit
func (l *spinlock) lock() {
	for !atomic.CompareAndSwapUint32(&l.v, 0, 1) {
		for atomic.LoadUint32(&l.v) != 0 {
			pause()
			// The holder may be waiting for this CPU to apply a TLB
			// shootdown (tlbShootdown): apply it while spinning.
			if ncpu > 1 && atomic.LoadUint64(&flushGen) != atomic.LoadUint64(&curCPU().flushSeen) {
				applyFlush(curCPU())
			}
		}
	}
}

//go:nosplit
func (l *spinlock) unlock() { atomic.StoreUint32(&l.v, 0) }
