package machine

// Port I/O for level 1 (drivers of legacy and virtio-pci I/O BARs). The
// kernel's Go code runs in ring 0, so these are plain IN/OUT instructions.
// An index/data pair of ports shared with level 0 (PCI 0xCF8/0xCFC, the
// I/O APIC) must not be driven through them: use PCIConfigRead32 and
// friends, which serialise with the machine layer.

// Inb reads a byte from I/O port port.
//
//go:nosplit
func Inb(port uint16) uint8 { return inb(port) }

// Inw reads a 16-bit word from I/O port port.
//
//go:nosplit
func Inw(port uint16) uint16 { return inw(port) }

// Inl reads a 32-bit doubleword from I/O port port.
//
//go:nosplit
func Inl(port uint16) uint32 { return inl(port) }

// Outb writes a byte to I/O port port.
//
//go:nosplit
func Outb(port uint16, v uint8) { outb(port, v) }

// Outw writes a 16-bit word to I/O port port.
//
//go:nosplit
func Outw(port uint16, v uint16) { outw(port, v) }

// Outl writes a 32-bit doubleword to I/O port port.
//
//go:nosplit
func Outl(port uint16, v uint32) { outl(port, v) }
