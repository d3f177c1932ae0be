package wtp

import "github.com/wotgen/wotgen/runtime/td"

// The 18 operation names of the Web Thing Protocol, the TD operation types (td.Op*),
// repeated here so code that speaks WTP needs only this package.
const (
	OpReadProperty            = td.OpReadProperty
	OpWriteProperty           = td.OpWriteProperty
	OpObserveProperty         = td.OpObserveProperty
	OpUnobserveProperty       = td.OpUnobserveProperty
	OpReadAllProperties       = td.OpReadAllProperties
	OpWriteAllProperties      = td.OpWriteAllProperties
	OpReadMultipleProperties  = td.OpReadMultipleProperties
	OpWriteMultipleProperties = td.OpWriteMultipleProperties
	OpObserveAllProperties    = td.OpObserveAllProperties
	OpUnobserveAllProperties  = td.OpUnobserveAllProperties
	OpInvokeAction            = td.OpInvokeAction
	OpQueryAction             = td.OpQueryAction
	OpCancelAction            = td.OpCancelAction
	OpQueryAllActions         = td.OpQueryAllActions
	OpSubscribeEvent          = td.OpSubscribeEvent
	OpUnsubscribeEvent        = td.OpUnsubscribeEvent
	OpSubscribeAllEvents      = td.OpSubscribeAllEvents
	OpUnsubscribeAllEvents    = td.OpUnsubscribeAllEvents
)

// IsOperation reports whether op is one of the 18 WTP operation names.
func IsOperation(op string) bool { return td.KindOf(op) != td.KindUnknown }
