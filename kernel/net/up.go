package net

import (
	"fmt"

	"github.com/gosv/gosv/kernel/dev"
	"github.com/gosv/gosv/kernel/dev/virtio"
	vnet "github.com/gosv/gosv/kernel/dev/virtio/net"
)

// Up creates the stack and attaches every virtio network card among ts
// (from virtio.Discover): the first gets cfg, the others only their IPv6
// link-local addresses. Each card starts receiving at once. The stack is
// returned even without a card (loopback only); errs names the cards that
// could not be used.
func Up(p dev.Platform, ts []virtio.Transport, cfg Config, o Options) (st *Stack, nics []*vnet.NIC, errs []error) {
	st, err := NewStack(o)
	if err != nil {
		return nil, nil, []error{err}
	}
	for _, t := range ts {
		if t.DeviceType() != virtio.TypeNet {
			continue
		}
		var ep *Endpoint
		card, err := vnet.New(p, t, func(frame []byte) { ep.Deliver(frame) })
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c := cfg
		if len(nics) > 0 {
			c = Config{}
		}
		n, err := st.AddNIC(card, c)
		if err != nil {
			errs = append(errs, fmt.Errorf("%v: %w", card, err))
			continue
		}
		// Frames arrive only after Start, so ep is set before any use.
		ep = n.Endpoint
		if err := card.Start(); err != nil {
			errs = append(errs, fmt.Errorf("%v: %w", card, err))
			continue
		}
		nics = append(nics, card)
	}
	return st, nics, errs
}
