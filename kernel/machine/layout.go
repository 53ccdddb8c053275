// Package machine is gosv's level 0: the machine layer. It boots the CPU,
// owns paging, descriptor tables, traps, kernel threads and their scheduler,
// and serves the Go runtime's own Linux syscalls in place.
//
// Rules (see shared/DESIGN.md): every function on a trap or syscall path is
// //go:nosplit, allocates nothing, stores no Go pointers (state is kept in
// uintptrs and fixed arrays), takes no interface conversions, maps, defers or
// closures. The guard test in tests/boot disassembles the kernel ELF and fails
// when a function of this package calls runtime.morestack*,
// runtime.gcWriteBarrier*, the allocator or a panic helper.
package machine

// Virtual memory layout (one address space for kernel and app).
//
//	0x0000_0000_0000 .. 0x4000_0000_0000  app (user pages)
//	0x4000_0000_0000 .. 0x4080_0000_0000  direct map: virtual = DirectMapBase + physical
//	0x4080_0000_0000 .. 0x7000_0000_0000  kernel mmap area for Go arena hints (0x40c0_0000_0000, ...)
//	0x7000_0000_0000 .. 0x7800_0000_0000  kernel mmap area for addr=0 requests
//	0x7800_0000_0000 .. 0x7f00_0000_0000  kernel stacks (each with an unmapped guard page below)
//	0x7f00_0000_0000 .. 0x8000_0000_0000  uncached device memory (MapMMIO), a guard page after each mapping
//
// The kernel window is every address with bit 46 set; app code never runs
// there, which is how the syscall entry tells the kernel's runtime from the app.
const (
	DirectMapBase = 0x4000_0000_0000
	DirectMapSize = 0x0080_0000_0000
	WindowStart   = 0x4000_0000_0000
	WindowEnd     = 0x8000_0000_0000
	hintAreaStart = 0x4080_0000_0000
	hintAreaEnd   = 0x7000_0000_0000
	mmapAreaStart = 0x7000_0000_0000
	mmapAreaEnd   = 0x7800_0000_0000
	stackAreaBase = 0x7800_0000_0000
	stackAreaEnd  = 0x7f00_0000_0000
	mmioAreaStart = 0x7f00_0000_0000
	mmioAreaEnd   = 0x8000_0000_0000

	// AppLimit is the first address above the app's part of the address space.
	AppLimit = WindowStart

	PageSize  = 4096
	pageShift = 12
	hugeSize  = 2 << 20
)

// Physical layout used by the 32-bit boot stub (boot_amd64.s keeps its own
// copies of these numbers; layout_test.go checks they agree).
//
//	0x000000 .. 0x100000  firmware, hvm_start_info, command line: never allocated
//	0x100000 .. 0x107000  boot page tables: PML4, PDPT (identity), PDPT (direct map), 4 PDs
//	0x107000 .. 0x108000  boot GDT
//	0x110000 .. 0x1f0000  boot stack (the Go runtime's g0 stack on CPU 0)
//	0x200000 ..           kernel image (ELF headers, text, rodata, data, bss), then free memory
const (
	bootPML4Phys     = 0x100000
	bootPDPTIdent    = 0x101000
	bootPDPTDirect   = 0x102000
	bootPD0          = 0x103000
	bootGDTPhys      = 0x107000
	bootStackLow     = 0x110000
	bootStackTop     = 0x1f0000
	KernelPhysBase   = 0x200000
	lowMemoryReserve = 0x100000
	bootMappedLimit  = 4 << 30 // the stub maps the first 4 GiB
)

// MaxCPUs bounds the per-CPU array.
const MaxCPUs = 64

// Selectors of the GDT (see gdt.go). STAR is arranged so that SYSRET to
// 64-bit mode loads CS=userCode|3 and SS=userData|3.
const (
	kernelCode = 0x08
	kernelData = 0x10
	userCode32 = 0x18
	userData   = 0x20
	userCode   = 0x28
	tssSel     = 0x30
)
