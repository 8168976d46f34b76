// Package catalog is the merchant's catalog beside the stock ledger: which
// ledger SKU (times a multiplier) each channel listing stands for
// (mappings), which components a kit is made of (kits), the reverse index
// from a component to the kits that contain it, and a journal of every
// change.
//
// A listing is identified by what its channel gives: the channel SKU
// (Shopify variant SKU, eBay SKU, Amazon SellerSKU); the listing id is an
// opaque string, so ids without a SKU (a Shopify variant GID, an eBay legacy
// item id) fit as well once a connector names its listings by them. A
// listing nobody mapped stands for the ledger SKU of the same name, as
// before the catalog existed.
//
// A kit holds no stock: it is sold as its components, and lists the
// minimum over its components of what each allows. Kits of kits are
// refused, so a kit is always one level deep.
//
// Everything the catalog knows of one name (a ledger SKU, a kit SKU or a
// listing id) is one Redis hash carrying that name's hash tag — the same
// tag as the ledger's keys of a SKU of that name — so every read and write
// of one name touches one Cluster slot and no script spans two. A change
// that touches several names (a mapping: the listing and its SKU; a kit:
// the kit and its components) is written in an order that a crash can only
// leave harmless (the reverse entries first, removals last), and applying
// the same change again completes it.
//
// The package never moves stock: translating an order line into ledger
// lines (ExpandLine) and a kit's quantity (KitATS) are pure; the ledger
// and propagation do the rest.
package catalog
