#include "textflag.h"

// func outb(port uint16, v uint8)
TEXT ·outb(SB),NOSPLIT,$0-3
	MOVW	port+0(FP), DX
	MOVB	v+2(FP), AL
	OUTB
	RET

// func inb(port uint16) uint8
TEXT ·inb(SB),NOSPLIT,$0-9
	MOVW	port+0(FP), DX
	INB
	MOVB	AL, ret+8(FP)
	RET

// func outl(port uint16, v uint32)
TEXT ·outl(SB),NOSPLIT,$0-8
	MOVW	port+0(FP), DX
	MOVL	v+4(FP), AX
	OUTL
	RET

// func rdtsc() uint64
TEXT ·rdtsc(SB),NOSPLIT,$0-8
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+0(FP)
	RET

// func rdmsr(msr uint32) uint64
TEXT ·rdmsr(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	RDMSR
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+8(FP)
	RET

// func wrmsr(msr uint32, v uint64)
TEXT ·wrmsr(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	MOVQ	v+8(FP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB),NOSPLIT,$0-24
	MOVL	leaf+0(FP), AX
	MOVL	sub+4(FP), CX
	CPUID
	MOVL	AX, a+8(FP)
	MOVL	BX, b+12(FP)
	MOVL	CX, c+16(FP)
	MOVL	DX, d+20(FP)
	RET

// func halt()
TEXT ·halt(SB),NOSPLIT,$0-0
	HLT
	RET

// func cli()
TEXT ·cli(SB),NOSPLIT,$0-0
	CLI
	RET

// func pause()
TEXT ·pause(SB),NOSPLIT,$0-0
	PAUSE
	RET

// func readCR2() uintptr
TEXT ·readCR2(SB),NOSPLIT,$0-8
	MOVQ	CR2, AX
	MOVQ	AX, ret+0(FP)
	RET

// func readCR3() uintptr
TEXT ·readCR3(SB),NOSPLIT,$0-8
	MOVQ	CR3, AX
	MOVQ	AX, ret+0(FP)
	RET

// func writeCR3(v uintptr)
TEXT ·writeCR3(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, CR3
	RET

// func invlpg(va uintptr)
TEXT ·invlpg(SB),NOSPLIT,$0-8
	MOVQ	va+0(FP), AX
	INVLPG	(AX)
	RET

// func zeroPage(va uintptr) — REP STOSQ: touches no vector registers.
TEXT ·zeroPage(SB),NOSPLIT,$0-8
	MOVQ	va+0(FP), DI
	MOVQ	$512, CX
	XORQ	AX, AX
	CLD
	REP;	STOSQ
	RET

// func copyWords(dst, src, n uintptr) — n 8-byte words, REP MOVSQ.
TEXT ·copyWords(SB),NOSPLIT,$0-24
	MOVQ	dst+0(FP), DI
	MOVQ	src+8(FP), SI
	MOVQ	n+16(FP), CX
	CLD
	REP;	MOVSQ
	RET

// func rdrand() (v uint64, ok bool)
TEXT ·rdrand(SB),NOSPLIT,$0-9
	MOVQ	$10, CX
again:
	BYTE $0x48; BYTE $0x0F; BYTE $0xC7; BYTE $0xF0	// rdrand rax
	JCS	ok
	DECQ	CX
	JNE	again
	MOVQ	$0, v+0(FP)
	MOVB	$0, ok+8(FP)
	RET
ok:
	MOVQ	AX, v+0(FP)
	MOVB	$1, ok+8(FP)
	RET

// func xsetbv(idx uint32, v uint64)
TEXT ·xsetbv(SB),NOSPLIT,$0-16
	MOVL	idx+0(FP), CX
	MOVQ	v+8(FP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	XSETBV
	RET

// func readCR4() uintptr
TEXT ·readCR4(SB),NOSPLIT,$0-8
	MOVQ	CR4, AX
	MOVQ	AX, ret+0(FP)
	RET

// func writeCR4(v uintptr)
TEXT ·writeCR4(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, CR4
	RET

// func lgdt(desc uintptr) ; lidt ; ltr
TEXT ·lgdt(SB),NOSPLIT,$0-8
	MOVQ	desc+0(FP), AX
	LGDT	(AX)
	// reload CS with a far return, data segments directly
	MOVQ	$0x10, AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, SS
	POPQ	AX		// return address
	PUSHQ	$0x08
	PUSHQ	AX
	BYTE $0x48; BYTE $0xCB	// lretq
	
TEXT ·lidt(SB),NOSPLIT,$0-8
	MOVQ	desc+0(FP), AX
	LIDT	(AX)
	RET

TEXT ·ltr(SB),NOSPLIT,$0-2
	MOVW	sel+0(FP), AX
	LTR	AX
	RET

// func imageEnd() uintptr: the linker's end of the kernel image (runtime.end).
TEXT ·imageEnd(SB),NOSPLIT,$0-8
	MOVQ	$runtime·end(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func pclntabAddr() uintptr
TEXT ·pclntabAddr(SB),NOSPLIT,$0-8
	MOVQ	$runtime·pclntab(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func textStart() uintptr
TEXT ·textStart(SB),NOSPLIT,$0-8
	MOVQ	$runtime·text(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·ud2(SB),NOSPLIT,$0-0
	BYTE $0x0F; BYTE $0x0B
	RET

// func copyUser(dst, src, n uintptr) (fault uintptr)
// A copy to or from app memory. A page fault inside it that is not a
// demand fault makes trap() resume at copyUserFixup, which returns 1.
TEXT ·copyUser(SB),NOSPLIT,$0-32
	MOVQ	dst+0(FP), DI
	MOVQ	src+8(FP), SI
	MOVQ	n+16(FP), CX
	CLD
	REP;	MOVSB
	MOVQ	$0, fault+24(FP)
	RET

TEXT ·copyUserFixup(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$1, 32(SP)		// fault+24(FP) of copyUser: SP is at its return address
	RET

// func copyUserAddr() uintptr / copyUserEnd() uintptr / copyUserFixupAddr() uintptr
TEXT ·copyUserAddr(SB),NOSPLIT,$0-8
	MOVQ	$·copyUser(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·copyUserEnd(SB),NOSPLIT,$0-8
	MOVQ	$·copyUserFixup(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·copyUserFixupAddr(SB),NOSPLIT,$0-8
	MOVQ	$·copyUserFixup(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func outw(port uint16, v uint16)
TEXT ·outw(SB),NOSPLIT,$0-4
	MOVW	port+0(FP), DX
	MOVW	v+2(FP), AX
	OUTW
	RET

// func inw(port uint16) uint16
TEXT ·inw(SB),NOSPLIT,$0-10
	MOVW	port+0(FP), DX
	INW
	MOVW	AX, ret+8(FP)
	RET

// func inl(port uint16) uint32
TEXT ·inl(SB),NOSPLIT,$0-12
	MOVW	port+0(FP), DX
	INL
	MOVL	AX, ret+8(FP)
	RET
