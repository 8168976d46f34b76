package amazontest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// CarrierOther is the carrierCode of a carrier Amazon does not list; it
// needs a carrierName.
const CarrierOther = "Other"

// carrierCodes are the CarrierCode values the fake takes: those of
// Amazon's order fulfillment base schema (amzn-base.xsd) that the
// connector's table uses, and a few more of that list, plus "Other".
var carrierCodes = []string{
	"USPS", "UPS", "UPS Mail Innovations", "UPSMI", "FedEx", "FedEx SmartPost", "DHL",
	"DHL Global Mail", "OnTrac", "Lasership", "Newgistics", "OSM", "Streamlite",
	"Canada Post", "Royal Mail", "Parcelforce", "City Link", "DPD", "GLS", "GO!",
	"TNT", "Target", "Hermes Logistik Gruppe", "Deutsche Post", "La Poste",
	"Chronopost", "Poste Italiane", "SDA", "Smartmail", "Parcelnet", "Fastway",
	"India Post", "BlueDart", "Aramex", "DTDC", "Professional", "Overnite Express",
	"First Flight", "Delhivery", "AFL/Fedex", "YAMATO", "SAGAWA", "NITTSU",
	"JP_EXPRESS", "FEDEX_JP", "SagawaExpress", "NipponExpress", "YamatoTransport",
	"Blue Package", CarrierOther,
}

// CarrierCodes returns the carrier codes the fake's confirmShipment takes.
func CarrierCodes() []string { return slices.Clone(carrierCodes) }

// Package is a package confirmed with confirmShipment.
type Package struct {
	OrderID        string
	ReferenceID    string
	CarrierCode    string
	CarrierName    string
	TrackingNumber string
	ShipDate       time.Time
	// Items is order item id → quantity.
	Items map[string]int64
	// Confirmations counts the calls that confirmed it: 1, plus one per
	// edit (the same packageReferenceId sent again).
	Confirmations int
}

// Packages returns the packages of an order, by packageReferenceId.
func (s *Server) Packages(orderID string) map[string]Package {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Package{}
	for ref, p := range s.packages[orderID] {
		c := *p
		c.Items = make(map[string]int64, len(p.Items))
		for k, v := range p.Items {
			c.Items[k] = v
		}
		out[ref] = c
	}
	return out
}

// Order returns the order the fake holds (its items' shipped quantities
// as confirmations left them).
func (s *Server) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	c := *o
	c.Items = slices.Clone(o.Items)
	return c, true
}

type confirmShipmentBody struct {
	MarketplaceID       string `json:"marketplaceId"`
	CodCollectionMethod string `json:"codCollectionMethod"`
	PackageDetail       *struct {
		PackageReferenceID string `json:"packageReferenceId"`
		CarrierCode        string `json:"carrierCode"`
		CarrierName        string `json:"carrierName"`
		ShippingMethod     string `json:"shippingMethod"`
		TrackingNumber     string `json:"trackingNumber"`
		ShipDate           string `json:"shipDate"`
		OrderItems         []struct {
			OrderItemID string `json:"orderItemId"`
			Quantity    *int64 `json:"quantity"`
		} `json:"orderItems"`
	} `json:"packageDetail"`
}

// handleConfirmShipment is confirmShipment: the request's required fields
// (ConfirmShipmentRequest, PackageDetail), a carrier code Amazon lists (or
// Other with a name), the order's marketplace, items of the order, no more
// than each item's unshipped quantity (the package being edited does not
// count against it), an order that can ship (MFN, Unshipped or
// PartiallyShipped). A packageReferenceId the order already has edits that
// package. 204 with no body; the order's LastUpdate moves, so the change
// shows in getOrders/searchOrders two minutes later.
func (s *Server) handleConfirmShipment(w http.ResponseWriter, r *http.Request) {
	var b confirmShipmentBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", "Request body is not valid JSON.")
		return
	}
	p, bad := parsePackage(&b)
	if bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	p.OrderID = r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[p.OrderID]
	if !ok {
		writeErrors(w, http.StatusNotFound, "NotFound", "The order was not found.")
		return
	}
	if bad := s.checkPackage(o, b.MarketplaceID, p); bad != "" {
		writeErrors(w, http.StatusBadRequest, "InvalidInput", bad)
		return
	}
	s.applyPackage(o, p)
	w.WriteHeader(http.StatusNoContent)
}

// parsePackage checks the body's own fields and reads its package.
func parsePackage(b *confirmShipmentBody) (*Package, string) {
	d := b.PackageDetail
	switch {
	case b.MarketplaceID == "":
		return nil, "marketplaceId is required."
	case b.CodCollectionMethod != "" && b.CodCollectionMethod != "DirectPayment":
		return nil, "codCollectionMethod must be DirectPayment."
	case d == nil:
		return nil, "packageDetail is required."
	case !positiveNumeric(d.PackageReferenceID):
		return nil, "packageReferenceId is required and must be a positive numeric value."
	case d.CarrierCode == "":
		return nil, "carrierCode is required."
	case !slices.Contains(carrierCodes, d.CarrierCode):
		return nil, fmt.Sprintf("carrierCode %q is not a valid carrier code.", d.CarrierCode)
	case d.CarrierCode == CarrierOther && strings.TrimSpace(d.CarrierName) == "":
		return nil, "carrierName is required when carrierCode is Other."
	case strings.TrimSpace(d.TrackingNumber) == "":
		return nil, "trackingNumber is required."
	case len(d.OrderItems) == 0:
		return nil, "orderItems is required."
	}
	shipDate, err := time.Parse(time.RFC3339, d.ShipDate)
	if err != nil {
		return nil, "shipDate is required and must be in ISO 8601 date/time format."
	}
	p := &Package{
		ReferenceID: d.PackageReferenceID, CarrierCode: d.CarrierCode, CarrierName: d.CarrierName,
		TrackingNumber: d.TrackingNumber, ShipDate: shipDate, Items: map[string]int64{},
	}
	for _, it := range d.OrderItems {
		switch {
		case it.OrderItemID == "" || it.Quantity == nil:
			return nil, "orderItemId and quantity are required for each order item."
		case *it.Quantity < 1:
			return nil, fmt.Sprintf("quantity of order item %s must be positive.", it.OrderItemID)
		}
		if _, dup := p.Items[it.OrderItemID]; dup {
			return nil, fmt.Sprintf("order item %s is listed twice.", it.OrderItemID)
		}
		p.Items[it.OrderItemID] = *it.Quantity
	}
	return p, ""
}

// positiveNumeric: digits only, not zero.
func positiveNumeric(v string) bool {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return false
	}
	return strings.TrimLeft(v, "0") != ""
}

// checkPackage checks p against the order; s.mu is held.
func (s *Server) checkPackage(o *Order, market string, p *Package) string {
	switch {
	case market != o.MarketplaceID:
		return fmt.Sprintf("marketplaceId %s is not the order's marketplace.", market)
	case o.FulfillmentChannel != "MFN":
		return "The order is fulfilled by Amazon."
	case o.Status != "Unshipped" && o.Status != "PartiallyShipped" && o.Status != "Shipped":
		return fmt.Sprintf("The order is %s and cannot be confirmed.", o.Status)
	}
	prev := s.packages[o.AmazonOrderID][p.ReferenceID]
	for id, q := range p.Items {
		i := slices.IndexFunc(o.Items, func(it Item) bool { return it.OrderItemID == id })
		if i < 0 {
			return fmt.Sprintf("orderItemId %s is not an item of order %s.", id, o.AmazonOrderID)
		}
		open := o.Items[i].Ordered - o.Items[i].Shipped
		if prev != nil {
			open += prev.Items[id]
		}
		if q > open {
			return fmt.Sprintf("quantity %d of order item %s exceeds its unshipped quantity %d.", q, id, open)
		}
	}
	return ""
}

// applyPackage records p (replacing the package of its reference) and
// updates the order's shipped quantities and status; s.mu is held.
func (s *Server) applyPackage(o *Order, p *Package) {
	if s.packages[o.AmazonOrderID] == nil {
		s.packages[o.AmazonOrderID] = map[string]*Package{}
	}
	prev := s.packages[o.AmazonOrderID][p.ReferenceID]
	p.Confirmations = 1
	if prev != nil {
		p.Confirmations = prev.Confirmations + 1
	}
	for i := range o.Items {
		it := &o.Items[i]
		if prev != nil {
			it.Shipped -= prev.Items[it.OrderItemID]
		}
		it.Shipped += p.Items[it.OrderItemID]
	}
	s.packages[o.AmazonOrderID][p.ReferenceID] = p
	var shipped, ordered int64
	for _, it := range o.Items {
		shipped += it.Shipped
		ordered += it.Ordered
	}
	switch {
	case shipped >= ordered:
		o.Status = "Shipped"
	case shipped > 0:
		o.Status = "PartiallyShipped"
	default:
		o.Status = "Unshipped"
	}
	o.LastUpdate = s.opts.Now()
}
