package machine

// putSymbol prints the name of the kernel function containing pc and the
// offset into it, read from the Go pclntab the linker wrote into the image
// (runtime/symtab.go: pcHeader, functab, _func). It prints "?" for pcs
// outside the kernel text.
//
//go:nosplit
func putSymbol(pc uintptr) {
	hdr := pclntabAddr()
	text := textStart()
	if load32(hdr) != 0xfffffff1 || pc < text {
		puts("?")
		return
	}
	nfunc := uintptr(load64(hdr + 8))
	funcnames := hdr + uintptr(load64(hdr+32))
	pcln := hdr + uintptr(load64(hdr+64))
	off := uint32(pc - text)
	// Binary search in functab ({entryoff, funcoff uint32} x nfunc+1).
	lo, hi := uintptr(0), nfunc
	if off >= load32(pcln+nfunc*8) {
		puts("?")
		return
	}
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if load32(pcln+mid*8) <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	fn := pcln + uintptr(load32(pcln+lo*8+4))
	nameOff := uintptr(int32(load32(fn + 4)))
	name := funcnames + nameOff
	for i := uintptr(0); i < 256; i++ {
		ch := *(*byte)(ptr(name + i))
		if ch == 0 {
			break
		}
		putcErr(ch)
	}
	puts("+")
	putHex(uint64(off - load32(pcln+lo*8)))
}
