package connectors

import (
	"fmt"
	"sort"
	"sync"
)

// Factory builds a connector instance. It must have no side effects beyond
// building values: no network I/O and no goroutines (those start in Run or
// on first use). It validates what only the connector understands and
// returns an error naming the setting.
type Factory func(deps Deps) (Connector, error)

// Normalizer parses a payload a user saved from the channel (a webhook body
// or an API response page) into events, without verifying any signature and
// without network I/O: `shelfsync normalize` and the conformance tests use it.
// channel labels the events.
type Normalizer func(channel string, data []byte) ([]Event, error)

var (
	registryMu  sync.RWMutex
	registry    = map[string]Factory{}
	normalizers = map[string]Normalizer{}
)

// RegisterNormalizer makes kind's payload parser available to Normalize.
// Called from init(); panics on an empty or duplicate kind.
func RegisterNormalizer(kind string, n Normalizer) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if kind == "" || n == nil {
		panic("connectors: RegisterNormalizer with an empty kind or nil parser")
	}
	if _, dup := normalizers[kind]; dup {
		panic("connectors: RegisterNormalizer called twice for kind " + kind)
	}
	normalizers[kind] = n
}

// Normalize parses data with kind's Normalizer.
func Normalize(kind, channel string, data []byte) ([]Event, error) {
	registryMu.RLock()
	n, ok := normalizers[kind]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no normalizer for kind %q", kind)
	}
	return n(channel, data)
}

// Register makes a connector kind available. It is called from the
// connector package's init(); it panics on an empty or duplicate kind,
// because that is a programming error found at start-up.
func Register(kind string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if kind == "" {
		panic("connectors: Register with an empty kind")
	}
	if f == nil {
		panic("connectors: Register of " + kind + " with a nil factory")
	}
	if _, dup := registry[kind]; dup {
		panic("connectors: Register called twice for kind " + kind)
	}
	registry[kind] = f
}

// New builds the connector of deps.Channel.Kind.
func New(deps Deps) (Connector, error) {
	registryMu.RLock()
	f, ok := registry[deps.Channel.Kind]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("channel %s: no connector of kind %q (registered: %v)", deps.Channel.Name, deps.Channel.Kind, Registered())
	}
	c, err := f(deps)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", deps.Channel.Name, err)
	}
	return c, nil
}

// Registered lists the registered kinds, sorted.
func Registered() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
