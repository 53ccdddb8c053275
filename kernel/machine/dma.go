package machine

import "syscall"

// DMA memory for device drivers: physically contiguous, zeroed pages that
// a device may read and write (virtqueues, packet buffers). They are taken
// from the bump area of one free range, so they are contiguous, and never
// freed: drivers allocate their rings and buffers once.

// AllocDMA returns n physically contiguous zeroed pages: their physical
// address, for the device, and their virtual address in the direct map,
// for the driver. ENOMEM when no free range holds n pages in a row.
func AllocDMA(n int) (phys, virt uintptr, err error) {
	if n <= 0 {
		return 0, 0, syscall.EINVAL
	}
	p := allocContiguous(uintptr(n))
	if p == 0 {
		return 0, 0, syscall.ENOMEM
	}
	return p, phys2virt(p), nil
}

// allocContiguous takes n frames in a row from a free range's bump area
// and zeroes them; 0 when none has room.
//
//go:nosplit
func allocContiguous(n uintptr) uintptr {
	frameLock.lock()
	var p uintptr
	for i := 0; i < nFrameRange && i < len(frameRanges); i++ {
		r := &frameRanges[i]
		if r.end-r.next >= n*PageSize {
			p = r.next
			r.next += n * PageSize
			break
		}
	}
	if p != 0 {
		freeFrames -= uint64(n)
		usedFrames += uint64(n)
	}
	frameLock.unlock()
	for i := uintptr(0); p != 0 && i < n; i++ {
		zeroPage(phys2virt(p + i*PageSize))
	}
	return p
}
