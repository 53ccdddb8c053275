package machine

// Physical page frames. Free RAM is the PVH memory map minus memory below
// the end of the kernel image, the initrd, and anything above what the
// boot page tables map. Frames are handed out by a bump pointer per region;
// freed frames go on a LIFO list linked through their first word (direct map).

type frameRange struct{ next, end uintptr }

var (
	frameLock   spinlock
	frameRanges [40]frameRange
	nFrameRange int
	freeList    uintptr // physical address of the first freed frame, 0 = empty
	freeFrames  uint64  // frames available (bump space + free list)
	usedFrames  uint64
)

//go:nosplit
func addFrameRange(start, end uintptr) {
	start = (start + PageSize - 1) &^ (PageSize - 1)
	end &^= PageSize - 1
	n := nFrameRange
	if end <= start || n < 0 || n >= len(frameRanges) {
		return
	}
	frameRanges[n] = frameRange{start, end}
	nFrameRange = n + 1
	freeFrames += uint64((end - start) / PageSize)
}

// initFrames builds the free ranges from memRegions, excluding [0, imgEnd)
// and the initrd module.
//
//go:nosplit
func initFrames(imgEndPhys uintptr) {
	for i := 0; i < nMemRegion && i < len(memRegions); i++ {
		s, e := memRegions[i].start, memRegions[i].end
		if s < imgEndPhys {
			s = imgEndPhys
		}
		if e > bootMappedLimit {
			e = bootMappedLimit
		}
		if e <= s {
			continue
		}
		rs, re := initrdPhys&^(PageSize-1), (initrdPhys+initrdSize+PageSize-1)&^(PageSize-1)
		if initrdSize != 0 && rs < e && re > s {
			addFrameRange(s, rs)
			addFrameRange(re, e)
			continue
		}
		addFrameRange(s, e)
	}
}

// allocFrame returns the physical address of a zeroed 4 KiB frame, or 0
// when memory is exhausted.
//
//go:nosplit
func allocFrame() uintptr {
	frameLock.lock()
	p := freeList
	if p != 0 {
		freeList = uintptr(load64(phys2virt(p)))
	} else {
		for i := 0; i < nFrameRange && i < len(frameRanges); i++ {
			r := &frameRanges[i]
			if r.next < r.end {
				p = r.next
				r.next += PageSize
				break
			}
		}
	}
	if p != 0 {
		freeFrames--
		usedFrames++
	}
	frameLock.unlock()
	if p != 0 {
		zeroPage(phys2virt(p))
	}
	return p
}

//go:nosplit
func freeFrame(p uintptr) {
	frameLock.lock()
	store64(phys2virt(p), uint64(freeList))
	freeList = p
	freeFrames++
	usedFrames--
	frameLock.unlock()
}

// donateFrame adds a frame that was never allocated (the initrd's) to the
// free list.
//
//go:nosplit
func donateFrame(p uintptr) {
	frameLock.lock()
	store64(phys2virt(p), uint64(freeList))
	freeList = p
	freeFrames++
	frameLock.unlock()
}

// MemStats reports physical memory in bytes: total RAM in the memory map,
// bytes free for allocation, and bytes handed out since boot.
func MemStats() (total, free, used uint64) {
	return totalRAM, freeFrames * PageSize, usedFrames * PageSize
}
