#include "textflag.h"
#include "go_asm.h"

// Trap frame (see trap.go): from the address held in the frame register up:
//   0 fpu image address (0 = none)   8 FS base to load on exit   16 r15 ... 128 rax
//   136 vector   144 error   152 rip  160 cs  168 rflags  176 rsp  184 ss
// SAVE_GPRS reserves the GPR part of the frame plus the fpu and fs slots
// (136 bytes) below SP and stores the registers; SP then points at the frame.
// Stack adjustments use LEAQ and MOVQ, not PUSH/POP: the linker's nosplit
// check would otherwise count the frame as stack of the current goroutine.
#define SAVE_GPRS \
	LEAQ -136(SP), SP; \
	MOVQ R15, 16(SP); MOVQ R14, 24(SP); MOVQ R13, 32(SP); MOVQ R12, 40(SP); \
	MOVQ R11, 48(SP); MOVQ R10, 56(SP); MOVQ R9, 64(SP); MOVQ R8, 72(SP); \
	MOVQ BP, 80(SP); MOVQ DI, 88(SP); MOVQ SI, 96(SP); MOVQ DX, 104(SP); \
	MOVQ CX, 112(SP); MOVQ BX, 120(SP); MOVQ AX, 128(SP); MOVQ $0, 0(SP); MOVQ $0, 8(SP)

#define RESTORE_GPRS \
	MOVQ 16(SP), R15; MOVQ 24(SP), R14; MOVQ 32(SP), R13; MOVQ 40(SP), R12; \
	MOVQ 48(SP), R11; MOVQ 56(SP), R10; MOVQ 64(SP), R9; MOVQ 72(SP), R8; \
	MOVQ 80(SP), BP; MOVQ 88(SP), DI; MOVQ 96(SP), SI; MOVQ 104(SP), DX; \
	MOVQ 112(SP), CX; MOVQ 120(SP), BX; MOVQ 128(SP), AX; \
	LEAQ 152(SP), SP

#define CALL_GO(fn) \
	MOVQ BX, -8(DI); MOVQ BX, -16(DI); LEAQ -16(DI), SP; \
	CALL fn; \
	MOVQ 8(SP), BX; MOVQ BX, SP

#define SYSRETQ BYTE $0x48; BYTE $0x0F; BYTE $0x07

// xsave64 (DI) / xrstor64 (DI) / fxsave64 (DI) / fxrstor64 (DI)
#define XSAVE64_DI   BYTE $0x48; BYTE $0x0F; BYTE $0xAE; BYTE $0x27
#define XRSTOR64_DI  BYTE $0x48; BYTE $0x0F; BYTE $0xAE; BYTE $0x2F
#define FXSAVE64_DI  BYTE $0x48; BYTE $0x0F; BYTE $0xAE; BYTE $0x07
#define FXRSTOR64_DI BYTE $0x48; BYTE $0x0F; BYTE $0xAE; BYTE $0x0F

// SAVE_FPU_AND_TRAP saves the FPU/SSE/AVX state, records its address in
// the frame, calls trap(frame) and returns through trapExit. From an app
// thread in ring 3 the image goes straight into its AppContext (what
// leaveApp would otherwise copy there); else below the frame at BX. Either
// area is 64-byte aligned, and XRSTOR needs a clean XSAVE header (bytes
// 512..575). The Go handler's stack starts below the on-stack area in
// both cases. Each use sits in its own TEXT symbol, so the labels do not
// clash.
#define SAVE_FPU_AND_TRAP \
	MOVQ	SP, DI; \
	SUBQ	·fpuSize(SB), DI; \
	ANDQ	$~63, DI; \
	TESTQ	$3, 160(BX); \
	JZ	area; \
	MOVQ	cpuData_cur(GS), AX; \
	TESTQ	AX, AX; \
	JZ	area; \
	MOVQ	thread_app(AX), AX; \
	TESTQ	AX, AX; \
	JZ	area; \
	LEAQ	(AppContext_FPU+63)(AX), DI; \
	ANDQ	$~63, DI; \
area: \
	MOVQ	DI, 0(BX); \
	CMPB	·haveXSAVE(SB), $0; \
	JEQ	fx; \
	XORQ	AX, AX; \
	MOVQ	AX, 512(DI); MOVQ AX, 520(DI); MOVQ AX, 528(DI); MOVQ AX, 536(DI); \
	MOVQ	AX, 544(DI); MOVQ AX, 552(DI); MOVQ AX, 560(DI); MOVQ AX, 568(DI); \
	MOVL	$-1, AX; \
	MOVL	$-1, DX; \
	XSAVE64_DI; \
	JMP	saved; \
fx: \
	FXSAVE64_DI; \
saved: \
	MOVQ	SP, DI; \
	SUBQ	·fpuSize(SB), DI; \
	ANDQ	$~63, DI; \
	CALL_GO(·trap(SB)); \
	JMP	·trapExit(SB)

// trapCommon: the CPU pushed ss, rsp, rflags, cs, rip (and maybe an error
// code); the vector stub pushed the error (or 0) and the vector.
TEXT ·trapCommon(SB),NOSPLIT|NOFRAME,$0
	TESTQ	$3, 24(SP)		// cs of the interrupted context
	JZ	2(PC)
	SWAPGS
	SAVE_GPRS
	MOVQ	SP, BX			// BX = frame
	TESTQ	$3, 160(BX)		// from ring 3: kernel FS base for the Go handler
	JZ	kfs
	MOVL	$0xC0000100, CX
	MOVQ	cpuData_kfs(GS), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
kfs:
	SAVE_FPU_AND_TRAP

// trapExit restores the context in the frame at SP and returns to it.
// The FS base is loaded here, after the last Go code: Go reloads g from
// FS:-8 after every call, so Go code cannot run with an app's FS base.
TEXT ·trapExit(SB),NOSPLIT|NOFRAME,$0
	MOVL	$0xC0000100, CX
	MOVQ	8(SP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
	MOVQ	0(SP), DI
	TESTQ	DI, DI
	JZ	nofpu
	CMPB	·haveXSAVE(SB), $0
	JEQ	fx
	MOVL	$-1, AX
	MOVL	$-1, DX
	XRSTOR64_DI
	JMP	nofpu
fx:
	FXRSTOR64_DI
nofpu:
	// Back to ring 3 with SYSRET instead of IRETQ when that gives the same
	// state: SYSRET loads RIP from RCX and RFLAGS from R11, so the frame's
	// RCX and R11 must already equal its RIP and RFLAGS (true after a
	// syscall unless level 1 changed the context), and RIP must be
	// canonical (a #GP on SYSRET would be taken in ring 0 on the app's
	// stack). CS and SS come from STAR and match the frame's (enterApp).
	TESTQ	$3, 160(SP)
	JZ	iret
	MOVQ	152(SP), AX
	CMPQ	AX, 112(SP)		// rip == rcx
	JNE	iret
	SHRQ	$47, AX
	JNZ	iret
	MOVQ	168(SP), AX
	CMPQ	AX, 48(SP)		// rflags == r11
	JNE	iret
	RESTORE_GPRS			// SP: rip, cs, rflags, rsp, ss
	SWAPGS
	MOVQ	24(SP), SP
	SYSRETQ
iret:
	RESTORE_GPRS			// also drops vector and error
	TESTQ	$3, 8(SP)
	JZ	2(PC)
	SWAPGS
	IRETQ

// syscallEntry is LSTAR. SYSCALL does not switch stacks: RCX = return RIP,
// R11 = RFLAGS, IF is masked by FMASK. Bit 46 of RCX tells the kernel's own
// runtime (kernel window) from the app.
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	BTQ	$46, CX
	JCC	fromApp
	MOVQ	SP, cpuData_scratch(GS)
	MOVQ	cpuData_sysStack(GS), SP
	LEAQ	-56(SP), SP
	MOVQ	$256, 0(SP)		// vector: syscall
	MOVQ	$0, 8(SP)		// error
	MOVQ	CX, 16(SP)		// rip
	MOVQ	$0x08, 24(SP)		// cs
	MOVQ	R11, 32(SP)		// rflags
	MOVQ	cpuData_scratch(GS), CX
	MOVQ	CX, 40(SP)		// rsp
	MOVQ	$0x10, 48(SP)		// ss
	MOVQ	16(SP), CX
	SAVE_GPRS			// fpu slot = 0: no FPU image
	MOVQ	SP, BX
	MOVQ	SP, DI
	CALL_GO(·syscallKernel(SB))
	JMP	·trapExit(SB)
fromApp:
	SWAPGS
	MOVQ	SP, cpuData_userRSP(GS)
	MOVQ	cpuData_sysStack(GS), SP
	LEAQ	-56(SP), SP
	MOVQ	$257, 0(SP)		// vector: app syscall
	MOVQ	$0, 8(SP)
	MOVQ	CX, 16(SP)		// rip
	MOVQ	$(0x28|3), 24(SP)	// cs
	MOVQ	R11, 32(SP)		// rflags
	MOVQ	cpuData_userRSP(GS), CX
	MOVQ	CX, 40(SP)		// rsp
	MOVQ	$(0x20|3), 48(SP)	// ss
	MOVQ	16(SP), CX
	SAVE_GPRS
	CMPB	·syscallProfile(SB), $0
	JEQ	noprof
	RDTSC				// --syscall-profile: entry stamp
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, cpuData_profEntry(GS)
noprof:
	MOVQ	SP, BX
	MOVL	$0xC0000100, CX		// kernel FS base for the Go handler
	MOVQ	cpuData_kfs(GS), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
	SAVE_FPU_AND_TRAP

// func syscallEntryAddr() uintptr
TEXT ·syscallEntryAddr(SB),NOSPLIT,$0-8
	MOVQ	$·syscallEntry(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func idleLoopAddr() uintptr
TEXT ·idleLoopAddr(SB),NOSPLIT,$0-8
	MOVQ	$·idleLoop(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// idleLoop is the body of every CPU's idle thread.
TEXT ·idleLoop(SB),NOSPLIT|NOFRAME,$0
loop:
	STI
	HLT
	JMP	loop

// func gsSelf() uintptr
TEXT ·gsSelf(SB),NOSPLIT,$0-8
	MOVQ	0(GS), AX
	MOVQ	AX, ret+0(FP)
	RET

// func vectorAddr(v int) uintptr
TEXT ·vectorAddr(SB),NOSPLIT,$0-16
	MOVQ	v+0(FP), AX
	LEAQ	·vectorTable(SB), BX
	MOVQ	(BX)(AX*8), AX
	MOVQ	AX, ret+8(FP)
	RET

// func xsaveInit(area uintptr) — saves the current (initial) FPU state.
TEXT ·fpuSaveTo(SB),NOSPLIT,$0-8
	MOVQ	area+0(FP), DI
	CMPB	·haveXSAVE(SB), $0
	JEQ	fx
	MOVL	$-1, AX
	MOVL	$-1, DX
	XSAVE64_DI
	RET
fx:
	FXSAVE64_DI
	RET
