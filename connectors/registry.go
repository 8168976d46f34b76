package connectors

import (
	"fmt"
	"sort"
	"sync"

	"github.com/shelfsync/shelfsync/config"
)

// Factory builds a connector instance from a channel whose configuration
// Load defaulted and validated: deps.Channel.Settings is of the kind's own
// settings type, and the factory type-asserts and trusts it (it checks
// nothing Validate checked, and defaults nothing). It must have no side
// effects beyond building values: no network I/O and no goroutines (those
// start in Run or on first use). It returns an error only for what it
// cannot know before it runs (the process's environment, deps).
type Factory func(deps Deps) (Connector, error)

// Normalizer parses a payload a user saved from the channel (a webhook body
// or an API response page) into events, without verifying any signature and
// without network I/O: `shelfsync normalize` and the conformance tests use it.
// channel labels the events.
type Normalizer func(channel string, data []byte) ([]Event, error)

// Documented is what a kind's settings must also do: document every key
// the kind adds under its block and every generic key it requires, for
// the README's configuration reference (a test in connectors/all checks
// that every key of the block is there, and that README.md shows it).
type Documented interface {
	Reference() []config.KeyDoc
}

// Kind is everything a connector registers, in one call to Register.
type Kind struct {
	// Name is the kind ("shopify"): the channel's `kind:` and the key of
	// its settings block.
	Name string
	// Settings returns a fresh, zero value of the kind's settings: a
	// pointer to a struct with yaml tags that implements
	// config.KindSettings (its defaults and validation) and Documented.
	Settings func() config.KindSettings
	// New builds a connector of the kind.
	New Factory
	// Normalize parses saved payloads; nil when the kind has none.
	Normalize Normalizer
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Kind{}
)

// Register makes a connector kind available: its factory and normalizer
// here, its settings type in config (config.RegisterKind). It is called
// from the connector package's init(); it panics on an empty or duplicate
// kind, a missing factory or settings, or settings that do not document
// their keys, because that is a programming error found at start-up.
func Register(k Kind) {
	if k.Name == "" {
		panic("connectors: Register with an empty kind")
	}
	if k.New == nil || k.Settings == nil {
		panic("connectors: Register of " + k.Name + " without a factory or settings")
	}
	if _, ok := k.Settings().(Documented); !ok {
		panic(fmt.Sprintf("connectors: Register of %s: its settings (%T) have no Reference() []config.KeyDoc", k.Name, k.Settings()))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[k.Name]; dup {
		panic("connectors: Register called twice for kind " + k.Name)
	}
	config.RegisterKind(k.Name, k.Settings)
	registry[k.Name] = k
}

// Lookup returns the registered kind named name.
func Lookup(name string) (Kind, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	k, ok := registry[name]
	return k, ok
}

// Normalize parses data with kind's Normalizer.
func Normalize(kind, channel string, data []byte) ([]Event, error) {
	k, ok := Lookup(kind)
	if !ok || k.Normalize == nil {
		return nil, fmt.Errorf("no normalizer for kind %q", kind)
	}
	return k.Normalize(channel, data)
}

// New builds the connector of deps.Channel.Kind.
func New(deps Deps) (Connector, error) {
	k, ok := Lookup(deps.Channel.Kind)
	if !ok {
		return nil, fmt.Errorf("channel %s: no connector of kind %q (registered: %v)", deps.Channel.Name, deps.Channel.Kind, Registered())
	}
	c, err := k.New(deps)
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

// SettingsError is what a factory returns when deps.Channel.Settings is
// not of its kind's type: the channel was not loaded through config (a
// test or a tool that built it in code without Check).
func SettingsError(kind string, got config.KindSettings) error {
	return fmt.Errorf("%s: channel settings are %T, not the %s kind's (load the channel with config.Load, or Check a config built in code)", kind, got, kind)
}
