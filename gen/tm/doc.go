// Package tm loads and resolves W3C WoT Thing Models (TMs), derives Thing Description (TD)
// instances from them, checks TDs against their model, and prepares models for code generation.
//
// It works on generic JSON (map[string]any, numbers as json.Number) rather than on runtime/td
// types, because a TM is not yet a TD: placeholders turn numbers, booleans and objects into
// strings, and forms, security and even the title may be missing.
//
// # Loading
//
// A Loader reads files and http(s) URLs (file: URLs too) through runtime/td's bounded fetch: at
// most 8 MiB per document, a timeout per fetch, at most 5 redirects (http/https only), nesting at
// most td.MaxDepth levels. Every document is cached for the
// Loader's lifetime, so use one Loader per run. Relative references resolve against the document
// that contains them; a document fetched over the network may not reference local files.
// Loader.Offline refuses network fetches and Loader.Mirrors maps published URLs to local copies.
//
// # Resolution (Resolve)
//
//   - tm:ref "<URL>#<JSON pointer>" (empty URL = same document) is replaced by a copy of the
//     target; sibling members are applied as an RFC 7396 merge patch (objects merge, other
//     values replace, null deletes). Targets are expanded recursively relative to their own
//     document. A pointer that only matches a member name literally (an unescaped "~1" in the
//     name) is accepted with a warning. If a remote pointer is not found in the target as written,
//     it is looked up in the target's resolved form (so inherited definitions can be referenced).
//   - links with rel "tm:extends" name the parent. The parent is resolved first; this model is
//     merged over it with merge-patch semantics, except that links, @context and @type are unions
//     (the TD 1.0 context URI stays before the TD 1.1 one). Redefining an inherited affordance
//     without tm:ref is merged too, with a warning. An inherited tm:optional entry becomes
//     mandatory when the child declares that affordance itself.
//   - links with rel "tm:submodel" are flattened into the parent (wotgen produces one TD per
//     model tree): each child affordance NAME becomes INSTANCE_NAME, INSTANCE being the link's
//     instanceName (or, without one, the child file's base name, with a warning). If that name is
//     taken, _2, _3, … is appended (with a warning), so nothing is ever overwritten. The child's
//     schemaDefinitions, securityDefinitions and uriVariables are added when their names are
//     free or identical; its tm:optional entries carry over under the new names; its
//     Thing-level forms are dropped.
//   - tm:optional lists optional affordances (/properties/N, /actions/N, /events/N). The legacy
//     tm:required (pre-2022 drafts) is accepted with a warning as its inverse: every affordance
//     it does not list is optional. "rel": "extends" is accepted as "tm:extends" with a warning.
//   - Overrides (tm:ref siblings, redefined inherited affordances) that widen what they override
//     (bounds relaxed, enum values added, type changed, …; TD 1.1 says they SHOULD only narrow)
//     are reported as warnings, using the same rules as CheckInstance.
//   - Cycles through tm:extends, tm:submodel or tm:ref are errors naming the cycle
//     (A → B → A). Depth, pointer length and the total size after expansion are bounded.
//
// The resolved Model keeps placeholders; Model.Placeholders lists their names.
//
// # Placeholders
//
// {{NAME}} (NAME: printable ASCII without braces) may appear in any string value. A string that
// is exactly one placeholder takes the JSON type of its value ("maximum": "{{MAX}}" with 40
// becomes 40); placeholders inside longer strings are interpolated (non-string values as JSON
// text). Every missing value is reported at once, sorted, in a *MissingPlaceholdersError.
// ParseValue reads command-line values: valid JSON keeps its type, anything else is a string.
//
// # Derivation (Derive), TD 1.1 "Derivation of Thing Description Instances"
//
// See https://www.w3.org/TR/wot-thing-description11/#thing-model-td-generation.
//
// Derive drops tm:extends/tm:submodel links, removes tm:ThingModel from @type (dropping @type
// when nothing is left), drops optional affordances unless Options.KeepOptional, removes tm:*
// members, substitutes placeholders, and fills what a TD needs: a title (from the model file name),
// id (urn:uuid: name-based on the model URL and the values, so it is reproducible),
// version.instance (Options.InstanceVersion, default 1.0.0), nosec security when the model
// declares none, and with Options.WTP one Web Thing Protocol form per affordance (href "wtp", or
// an absolute ws/wss URL when Options.Base is http/https; subprotocol "webthingprotocol"; explicit
// op lists) plus a Thing-level form with the applicable meta operations; forms the model left
// without href become WTP forms (without WTP they are an error). Options.ModelURL adds the
// {"rel": "type", "type": "application/tm+json"} link back to the model.
//
// # Instance checking (CheckInstance)
//
// CheckInstance reports, as Diagnostics with JSON pointers into the TD, mandatory affordances that
// are missing, changed JSON types (number may narrow to integer), widened data schemas (lower
// bounds lowered, upper bounds raised or dropped, enum values added, const changed, required
// members no longer required, items dropped), and changed readOnly/writeOnly (errors) or other
// flags and string constraints (warnings), and Thing Model terms (tm:ref, …) left in the TD.
// Model values that are placeholders accept anything. "wotgen validate -tm MODEL TD..." is
// Resolve followed by CheckInstance per TD.
//
// # Generation contract (ResolveForGeneration, GenerationDocument)
//
// The generator receives a TD-shaped JSON document built like Derive with WTP forms, with these
// differences, so that every unit made from one model shares the same Go types:
//
//   - all tm:optional affordances are kept and carry the extension member
//     "wotgen:optional": true; the generator should make them optional in the API (documented
//     there);
//   - placeholders are not substituted. They are left where a string is fine (title, description,
//     id, href, unit, …). A placeholder that stands for a whole non-string value (bounds, flags,
//     schemas, enum members, …) or for a string the generator must understand (type, scheme, op)
//     is an error listing all of them; version/created/modified placeholders are dropped with a
//     warning;
//   - no id is invented (the server takes its Thing ID at run time); version.instance is copied
//     from version.model (a TD needs one), and version is dropped when it has neither;
//   - forms without href become WTP forms; security defaults to nosec when the model declares none.
//
// tmtest (gen/tm/tmtest) exposes the corpus models that resolve offline and sample placeholder
// values, for round trips (derive, generate, compile) in other packages.
package tm
