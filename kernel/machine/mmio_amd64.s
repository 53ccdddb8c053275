#include "textflag.h"

// Device register accessors (mmio.go): one MOV each.

// func MMIORead8(addr uintptr) uint8
TEXT ·MMIORead8(SB),NOSPLIT,$0-9
	MOVQ	addr+0(FP), AX
	MOVB	(AX), AX
	MOVB	AX, ret+8(FP)
	RET

// func MMIORead16(addr uintptr) uint16
TEXT ·MMIORead16(SB),NOSPLIT,$0-10
	MOVQ	addr+0(FP), AX
	MOVW	(AX), AX
	MOVW	AX, ret+8(FP)
	RET

// func MMIORead32(addr uintptr) uint32
TEXT ·MMIORead32(SB),NOSPLIT,$0-12
	MOVQ	addr+0(FP), AX
	MOVL	(AX), AX
	MOVL	AX, ret+8(FP)
	RET

// func MMIORead64(addr uintptr) uint64
TEXT ·MMIORead64(SB),NOSPLIT,$0-16
	MOVQ	addr+0(FP), AX
	MOVQ	(AX), AX
	MOVQ	AX, ret+8(FP)
	RET

// func MMIOWrite8(addr uintptr, v uint8)
TEXT ·MMIOWrite8(SB),NOSPLIT,$0-9
	MOVQ	addr+0(FP), AX
	MOVB	v+8(FP), BX
	MOVB	BX, (AX)
	RET

// func MMIOWrite16(addr uintptr, v uint16)
TEXT ·MMIOWrite16(SB),NOSPLIT,$0-10
	MOVQ	addr+0(FP), AX
	MOVW	v+8(FP), BX
	MOVW	BX, (AX)
	RET

// func MMIOWrite32(addr uintptr, v uint32)
TEXT ·MMIOWrite32(SB),NOSPLIT,$0-12
	MOVQ	addr+0(FP), AX
	MOVL	v+8(FP), BX
	MOVL	BX, (AX)
	RET

// func MMIOWrite64(addr uintptr, v uint64)
TEXT ·MMIOWrite64(SB),NOSPLIT,$0-16
	MOVQ	addr+0(FP), AX
	MOVQ	v+8(FP), BX
	MOVQ	BX, (AX)
	RET
