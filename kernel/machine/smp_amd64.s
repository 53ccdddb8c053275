#include "textflag.h"

#define APVARS      0x8050
#define DMAP        0x400000000000

// apEntry32 is where the real-mode trampoline (smp.go) lands an
// application processor: 32-bit protected mode, paging off, flat segments
// from the trampoline's GDT (code 0x18, data 0x10). Like pvhEntry it uses
// only encodings that mean the same in 32- and 64-bit mode.
TEXT ·apEntry32(SB),NOSPLIT|NOFRAME,$0
	MOVL	$0x10, AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, SS
	MOVL	$0x9000, SP			// top of the trampoline page: a stack for the far return
	BYTE $0x0F; BYTE $0x20; BYTE $0xE0	// mov eax, cr4
	ORL	$0x20, AX			// PAE
	BYTE $0x0F; BYTE $0x22; BYTE $0xE0	// mov cr4, eax
	MOVL	$APVARS, BX
	MOVL	0(BX), AX			// boot PML4 (identity + kernel window)
	BYTE $0x0F; BYTE $0x22; BYTE $0xD8	// mov cr3, eax
	MOVL	$0xC0000080, CX
	RDMSR
	ORL	$0x901, AX			// SCE | LME | NXE
	WRMSR
	BYTE $0x0F; BYTE $0x20; BYTE $0xC0	// mov eax, cr0
	ORL	$0x80010001, AX
	BYTE $0x0F; BYTE $0x22; BYTE $0xC0	// mov cr0, eax
	BYTE $0x6A; BYTE $0x08			// push 0x08
	BYTE $0xE8; BYTE $0x00; BYTE $0x00; BYTE $0x00; BYTE $0x00	// call next
	BYTE $0x83; BYTE $0x04; BYTE $0x24; BYTE $0x05	// add dword [esp], 5
	BYTE $0xCB				// retf
	MOVQ	·apEntry64Addr(SB), AX
	JMP	AX

DATA ·apEntry64Addr+0(SB)/8, $·apEntry64(SB)
GLOBL ·apEntry64Addr(SB), RODATA, $8

TEXT ·apEntry64(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$(DMAP+APVARS+8), AX
	MOVQ	0(AX), SP			// this AP's boot stack
	MOVQ	CR0, AX
	ANDQ	$~4, AX
	ORQ	$2, AX
	MOVQ	AX, CR0
	MOVQ	CR4, AX
	ORQ	$0x600, AX
	MOVQ	AX, CR4
	LEAQ	·scratchTLS+16(SB), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$0xC0000100, CX
	WRMSR
	CALL	·apMain(SB)
hang:
	CLI
	HLT
	JMP	hang

// func apEntry32Addr() uintptr
TEXT ·apEntry32Addr(SB),NOSPLIT,$0-8
	MOVQ	$·apEntry32(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
