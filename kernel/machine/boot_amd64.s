// PVH entry (Xen's hvm_start_info boot protocol, as QEMU -kernel, Cloud
// Hypervisor and Firecracker implement it): 32-bit protected mode, paging
// off, EBX = physical address of struct hvm_start_info.
//
// Go's assembler has no 32-bit mode. The stub below uses only instructions
// whose encoding is identical in 32- and 64-bit mode (no REX prefixes, no
// disp32-without-base operands, which are RIP-relative in 64-bit mode) and
// raw bytes where the assembler would choose a 64-bit form.

#include "textflag.h"

#define PML4        0x100000
#define PDPT_ID     0x101000
#define PDPT_DM     0x102000
#define PD0         0x103000
#define GDT32       0x107000
#define STACK_TOP   0x1f0000
#define DMAP        0x400000000000

TEXT ·pvhEntry(SB),NOSPLIT|NOFRAME,$0
	CLI
	MOVL	BX, SI			// ESI = hvm_start_info (kept across the mode switch)

	// Zero the 7 page-table pages.
	MOVL	$PML4, DI
	MOVL	$(7*1024), CX
	XORL	AX, AX
	CLD
	REP;	STOSL

	// PML4[0] -> identity PDPT, PML4[128] (0x4000_0000_0000) -> direct-map PDPT.
	MOVL	$PML4, DI
	MOVL	$(PDPT_ID|3), 0(DI)
	MOVL	$(PDPT_DM|3), 1024(DI)

	// Both PDPTs map 4 GiB through the same four page directories.
	MOVL	$PDPT_ID, DI
	MOVL	$(PD0|3), AX
	MOVL	AX, 0(DI)
	MOVL	AX, 0x1000(DI)
	ADDL	$0x1000, AX
	MOVL	AX, 8(DI)
	MOVL	AX, 0x1008(DI)
	ADDL	$0x1000, AX
	MOVL	AX, 16(DI)
	MOVL	AX, 0x1010(DI)
	ADDL	$0x1000, AX
	MOVL	AX, 24(DI)
	MOVL	AX, 0x1018(DI)

	// 2048 2-MiB pages: present, writable, PS.
	MOVL	$PD0, DI
	MOVL	$0x83, AX
	MOVL	$2048, CX
pdloop:
	MOVL	AX, 0(DI)
	ADDL	$0x200000, AX
	ADDL	$8, DI
	DECL	CX
	JNE	pdloop

	// GDT: null, 64-bit code (0x08), data (0x10); GDTR at GDT32+64.
	MOVL	$GDT32, DI
	MOVL	$0, 0(DI)
	MOVL	$0, 4(DI)
	MOVL	$0x0000FFFF, 8(DI)
	MOVL	$0x00AF9A00, 12(DI)
	MOVL	$0x0000FFFF, 16(DI)
	MOVL	$0x00CF9200, 20(DI)
	MOVW	$23, 64(DI)
	MOVL	$GDT32, 66(DI)
	LGDT	64(DI)

	// CR4.PAE
	BYTE $0x0F; BYTE $0x20; BYTE $0xE0	// mov eax, cr4
	ORL	$0x20, AX
	BYTE $0x0F; BYTE $0x22; BYTE $0xE0	// mov cr4, eax
	// CR3
	MOVL	$PML4, AX
	BYTE $0x0F; BYTE $0x22; BYTE $0xD8	// mov cr3, eax
	// EFER: SCE | LME | NXE
	MOVL	$0xC0000080, CX
	RDMSR
	ORL	$0x901, AX
	WRMSR
	// CR0: PE | WP | PG
	BYTE $0x0F; BYTE $0x20; BYTE $0xC0	// mov eax, cr0
	ORL	$0x80010001, AX
	BYTE $0x0F; BYTE $0x22; BYTE $0xC0	// mov cr0, eax

	// Far return into the 64-bit code segment, landing right after LRET.
	BYTE $0x6A; BYTE $0x08			// push 0x08
	BYTE $0xE8; BYTE $0x00; BYTE $0x00; BYTE $0x00; BYTE $0x00	// call next
	BYTE $0x83; BYTE $0x04; BYTE $0x24; BYTE $0x05	// next: add dword [esp], 5
	BYTE $0xCB				// retf
	// 64-bit mode, still at the identity-mapped physical address.
	MOVL	$0x10, AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, SS
	XORL	AX, AX
	MOVW	AX, FS
	MOVW	AX, GS
	MOVL	SI, SI
	MOVQ	·entry64Addr(SB), AX	// RIP-relative load of an absolute (high) address
	JMP	AX

DATA ·entry64Addr+0(SB)/8, $·entry64(SB)
GLOBL ·entry64Addr(SB), RODATA, $8

// entry64 runs at the kernel's linked (high) address.
TEXT ·entry64(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$(DMAP+STACK_TOP-4096), SP	// the top page holds the initial process stack (boot.go)
	MOVQ	SI, ·startInfoPhys(SB)

	// SSE: CR0.EM=0, CR0.MP=1; CR4.OSFXSR|OSXMMEXCPT.
	MOVQ	CR0, AX
	ANDQ	$~4, AX
	ORQ	$2, AX
	MOVQ	AX, CR0
	MOVQ	CR4, AX
	ORQ	$0x600, AX
	MOVQ	AX, CR4

	// Scratch TLS so that ABI wrappers may load g from FS:-8 (g = nil).
	LEAQ	·scratchTLS+16(SB), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$0xC0000100, CX
	WRMSR

	CALL	·boot0(SB)

	// Kernel threads run with interrupts enabled: the runtime's threads
	// inherit RFLAGS through clone, and the LAPIC timer preempts them.
	MOVQ	·rt0SP(SB), SP
	STI
	JMP	_rt0_amd64_linux(SB)

GLOBL ·scratchTLS(SB), NOPTR, $64
