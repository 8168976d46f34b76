package connectors

import (
	"context"
	"errors"
)

// Listing is one listing a channel has, as ListingLister reads it.
type Listing struct {
	// ID names the listing as shelfsync does: the channel's SKU; a
	// listing without a SKU by an id its connector documents.
	ID string `json:"listing"`
	// Quantity is what the channel shows, when HasQuantity: false when
	// the channel shows none shelfsync could compare (stock the channel
	// does not manage, not stocked where shelfsync pushes; each
	// connector's README says).
	Quantity    int64 `json:"quantity"`
	HasQuantity bool  `json:"has_quantity"`
	// Levels are the listing's figures per location on a channel pushed
	// per location (stock_mode per_location), named as ReadQuantities
	// names them: Location for a location of the channel, ChannelLocation
	// for a channel location no shelfsync location maps to (their SKU is
	// the listing's ID). Quantity is then what the channel sells (each
	// connector's README says how it is made of the levels). Nil on a
	// single-figure channel.
	Levels []LiveQuantity `json:"levels,omitempty"`
}

// ListingPage is one page of a ListListings.
type ListingPage struct {
	Listings []Listing
	// Total is how many listings the channel says it has (for progress),
	// -1 when it does not say.
	Total int
}

// ListingLister pages through every listing the channel has, read-only
// (`shelfsync link`, the listing link report). Each connector pages as
// its channel documents and through its own limiter, so a report stays
// within the channel's rate limits.
type ListingLister interface {
	// ListListings calls page with each page, in the channel's order,
	// until the last page; an error of page stops it and is returned.
	ListListings(ctx context.Context, page func(ListingPage) error) error
}

// ErrListingsIncomplete: the channel's API could not page through every
// listing (the error says how many it has and why); the pages before it
// were delivered.
var ErrListingsIncomplete = errors.New("not every listing could be read")
