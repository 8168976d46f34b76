package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var (
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
	regionCode  = regexp.MustCompile(`^[A-Z0-9]{1,3}$`)
)

// validate checks the routing rules: known rule names, each once; channel
// lists of configured channels naming only that channel's locations;
// region lists of ISO 3166 countries (and subdivision codes) naming
// defined locations.
func (r *Routing) validate(c *checker, locs map[string]bool, channels []Channel) {
	seen := map[string]bool{}
	for i, rule := range r.Rules {
		p := fmt.Sprintf("routing.rules[%d]", i)
		switch {
		case !slices.Contains(RoutingRules, rule):
			c.addf(p, "unknown rule %q (the rules are %s)", rule, strings.Join(RoutingRules, ", "))
		case seen[rule]:
			c.addf(p, "rule %q is listed twice", rule)
		}
		seen[rule] = true
	}
	byName := map[string]*Channel{}
	for i := range channels {
		byName[channels[i].Name] = &channels[i]
	}
	listed := map[string]bool{}
	for i, cr := range r.Channels {
		p := fmt.Sprintf("routing.channels[%d]", i)
		ch := byName[cr.Channel]
		switch {
		case cr.Channel == "":
			c.addf(p+".channel", "is required")
		case ch == nil:
			c.addf(p+".channel", "unknown channel %q (define it under channels)", cr.Channel)
		case listed[cr.Channel]:
			c.addf(p+".channel", "channel %q has two lists", cr.Channel)
		}
		listed[cr.Channel] = true
		validateRouteLocations(c, p, cr.Locations, locs, ch)
	}
	r.validateSplit(c, byName)
	places := map[string]bool{}
	for i, rr := range r.Regions {
		p := fmt.Sprintf("routing.regions[%d]", i)
		switch {
		case !countryCode.MatchString(rr.Country) || !isoCountries[rr.Country]:
			c.addf(p+".country", "unknown country %q (an ISO 3166-1 alpha-2 code, upper case: US, DE, GB)", rr.Country)
		case rr.Region != "" && !regionCode.MatchString(rr.Region):
			c.addf(p+".region", "unknown region %q (the ISO 3166-2 subdivision code after the country's, upper case: CA for US-CA)", rr.Region)
		case places[rr.Country+"-"+rr.Region]:
			c.addf(p, "%s has two lists", strings.TrimSuffix(rr.Country+"-"+rr.Region, "-"))
		}
		places[rr.Country+"-"+rr.Region] = true
		validateRouteLocations(c, p, rr.Locations, locs, nil)
	}
}

// validateRouteLocations checks a routing list: at least one location,
// each defined (and, for a channel's list, one the channel sells from).
func validateRouteLocations(c *checker, p string, list []string, locs map[string]bool, ch *Channel) {
	if len(list) == 0 {
		c.addf(p+".locations", "at least one location is required")
	}
	for j, l := range list {
		lp := fmt.Sprintf("%s.locations[%d]", p, j)
		switch {
		case !locs[l]:
			c.addf(lp, "unknown location %q (define it under locations)", l)
		case ch != nil && !slices.Contains(ch.Locations, l):
			c.addf(lp, "location %q is not one of channel %q's locations", l, ch.Name)
		}
	}
}

// isoCountries are the ISO 3166-1 alpha-2 codes officially assigned.
var isoCountries = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV
CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD
GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM
IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK
LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW
MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR
PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS
ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY
UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`) {
		m[c] = true
	}
	return m
}()

// validateSplit checks split_channels: configured channels, each once.
func (r *Routing) validateSplit(c *checker, byName map[string]*Channel) {
	seen := map[string]bool{}
	for i, name := range r.SplitChannels {
		p := fmt.Sprintf("routing.split_channels[%d]", i)
		switch {
		case byName[name] == nil:
			c.addf(p, "unknown channel %q (define it under channels)", name)
		case seen[name]:
			c.addf(p, "channel %q is listed twice", name)
		case r.Split:
			c.addf(p, "routing.split is on for every channel; list channels here only without it")
		}
		seen[name] = true
	}
}
