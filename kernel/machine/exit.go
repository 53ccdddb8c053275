package machine

// exitMachine reports status on the control channel ("exit N\n"), then
// powers the VM off: QEMU's isa-debug-exit at port 0xf4 (exit code
// ((N&0x7f)<<1)|1), then the i8042 reset (Firecracker's shutdown), then halts.
//
//go:nosplit
func exitMachine(status int) {
	cli()
	controlPuts("exit ")
	controlDec(uint64(status & 0xff))
	controlPuts("\n")
	outl(0xf4, uint32(status&0x7f))
	outb(0x64, 0xfe)
	for {
		halt()
	}
}
