#include <algorithm>
#include <cstdint>
#include <map>

#include <boost/json/serialize.hpp>

#include "config/detail/map_reader.hpp"
#include "config/detail/pacing.hpp"
#include "config/detail/spec_sections.hpp"
#include "connectors/template.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

/// PostgreSQL truncates identifiers beyond this; a resource name becomes a table name.
constexpr std::size_t kMaxIdentifier = 63;

/// The types `column_types` declares.
constexpr const NameTable<ColumnType, kColumnTypeNames.size()>& kColumnTypes = kColumnTypeNames;

bool IsResourceName(std::string_view s) {
    if (s.empty() || s.size() > kMaxIdentifier || s[0] < 'a' || s[0] > 'z') {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

cn::ParentSpec
ReadParent(Context& ctx, const YamlNode& node, const std::string& path, ParentRef& ref) {
    cn::ParentSpec out;
    MapReader m(ctx, node, path);
    if (const YamlNode* r = m.Required("resource")) {
        out.resource = ReadString(ctx, *r, m.PathOf("resource")).value_or("");
        ref.mark = r->mark;
        ref.path = m.PathOf("resource");
    }
    if (const YamlNode* f = m.Get("fields")) {
        const std::string fields_path = m.PathOf("fields");
        for (const auto& e : ReadEntries(ctx, *f, fields_path)) {
            const std::string p = JoinPath(fields_path, e.key);
            auto v = ReadString(ctx, *e.value, p);
            if (!v || v->empty()) {
                if (v || e.value->IsNull()) {
                    ctx.Error(e.value->mark, p, "needs the dotted path of a parent field");
                }
                continue;
            }
            out.fields.emplace_back(e.key, std::move(*v));
        }
    }
    if (const auto v = m.Bool("only_changed")) {
        out.only_changed = *v;
    }
    m.Finish();
    return out;
}

std::vector<std::string>
ReadPrimaryKey(Context& ctx, const YamlNode& node, const std::string& path) {
    std::vector<std::string> out;
    if (node.IsScalar()) {
        if (auto s = ReadString(ctx, node, path); s && !s->empty()) {
            out.push_back(std::move(*s));
        } else if (s) {
            ctx.Error(node.mark, path, "needs at least one field");
        }
        return out;
    }
    if (!node.IsSequence()) {
        ctx.Error(
            node.mark,
            path,
            "expected a field name or a list of them, got " + std::string(KindName(node))
        );
        return out;
    }
    for (std::size_t i = 0; i < node.items.size(); ++i) {
        const std::string p = IndexPath(path, i);
        auto s = ReadString(ctx, node.items[i], p);
        if (!s || s->empty()) {
            if (s || node.items[i].IsNull()) {
                ctx.Error(node.items[i].mark, p, "needs a field name");
            }
            continue;
        }
        out.push_back(std::move(*s));
    }
    if (node.items.empty()) {
        ctx.Error(node.mark, path, "needs at least one field");
    }
    return out;
}

/// `column_types: {path: type}`. A path is the record's, dotted for nested fields, and must
/// be one that becomes a column: at most `max_nesting` levels deep, since deeper objects are
/// stored whole in a jsonb column.
std::map<std::string, ColumnType, std::less<>> ReadColumnTypes(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    std::uint32_t max_nesting
) {
    std::map<std::string, ColumnType, std::less<>> out;
    for (const auto& e : ReadEntries(ctx, node, path)) {
        const std::string p = JoinPath(path, e.key);
        const bool empty_component = e.key.empty() || e.key.front() == '.' || e.key.back() == '.' ||
                                     e.key.find("..") != std::string::npos;
        if (empty_component) {
            ctx.Error(
                e.key_node->mark,
                p,
                "expected a field path such as pinned or profile.name (got '" + e.key + "')"
            );
            continue;
        }
        const auto depth =
            static_cast<std::uint32_t>(std::count(e.key.begin(), e.key.end(), '.')) + 1;
        if (depth > std::max<std::uint32_t>(1, max_nesting)) {
            ctx.Error(
                e.key_node->mark,
                p,
                "is " + std::to_string(depth) + " levels deep, deeper than max_nesting (" +
                    std::to_string(max_nesting) +
                    "): it is stored inside a jsonb column, not as a column of its own"
            );
            continue;
        }
        if (e.value->IsNull()) {
            ctx.Error(e.value->mark, p, "needs a type: one of " + JoinNames(NamesOf(kColumnTypes)));
            continue;
        }
        if (const auto type = ReadEnum(ctx, *e.value, p, kColumnTypes)) {
            out.emplace(e.key, *type);
        }
    }
    return out;
}

}  // namespace

cn::ResourceSpec ReadResource(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const cn::ScheduleSpec& defaults,
    ParentRef& parent_ref
) {
    cn::ResourceSpec out;
    out.schedule = defaults;
    MapReader m(ctx, node, path);
    if (const YamlNode* n = m.Required("name")) {
        if (auto name = ReadString(ctx, *n, m.PathOf("name"))) {
            if (!IsResourceName(*name)) {
                ctx.Error(
                    n->mark,
                    m.PathOf("name"),
                    "must match [a-z][a-z0-9_]* and be at most 63 characters (it names a table)"
                );
            }
            out.name = std::move(*name);
        }
    }
    if (const YamlNode* r = m.Required("request")) {
        out.request = ReadRequest(ctx, *r, m.PathOf("request"));
    }
    // `records: path`, or `records: [path, other]` tried in order.
    if (const YamlNode* r = m.Get("records"); r != nullptr && r->IsSequence()) {
        const std::string rp = m.PathOf("records");
        for (std::size_t i = 0; i < r->items.size(); ++i) {
            auto records = ReadString(ctx, r->items[i], IndexPath(rp, i)).value_or("");
            if (i == 0) {
                out.records_path = std::move(records);
            } else {
                out.more_records_paths.push_back(std::move(records));
            }
        }
        if (r->items.empty()) {
            ctx.Error(r->mark, rp, "needs at least one path");
        }
    } else if (r != nullptr && !r->IsNull()) {
        out.records_path = ReadString(ctx, *r, m.PathOf("records")).value_or("");
    }
    if (const auto v = m.Bool("records_optional")) {
        out.records_optional = *v;
    }
    if (const YamlNode* pk = m.Required("primary_key")) {
        out.primary_key = ReadPrimaryKey(ctx, *pk, m.PathOf("primary_key"));
    }
    if (const YamlNode* p = m.Get("pagination")) {
        out.pagination = ReadPagination(ctx, *p, m.PathOf("pagination"));
    }
    const YamlNode* inc = m.Get("incremental");
    if (inc != nullptr && !inc->IsNull()) {
        out.incremental = ReadIncremental(ctx, *inc, m.PathOf("incremental"));
    }
    if (const YamlNode* p = m.Get("parent"); p != nullptr && !p->IsNull()) {
        out.parent = ReadParent(ctx, *p, m.PathOf("parent"), parent_ref);
    }
    if (out.incremental && out.incremental->keyset) {
        // Each page restarts the listing at the last cursor value, which must reach the API.
        const auto& rq = out.request;
        bool placed =
            !out.incremental->start_param.empty() || cn::References(rq.path, "cursor.start");
        for (const auto& [name, value] : rq.query) {
            placed = placed || cn::References(value, "cursor.start");
        }
        if (rq.body) {
            placed = placed || cn::References(boost::json::serialize(*rq.body), "cursor.start");
        }
        const auto where = JoinPath(m.PathOf("incremental"), "keyset");
        if (!placed) {
            ctx.Error(
                inc->mark,
                where,
                "needs the request to filter by {{ cursor.start }} (start_param or a template)"
            );
        }
    }
    if (const YamlNode* p = m.Get("partition"); p != nullptr && !p->IsNull()) {
        out.partition = ReadPartition(ctx, *p, m.PathOf("partition"));
        if (out.parent) {
            ctx.Error(p->mark, m.PathOf("partition"), "a child resource cannot be partitioned");
        }
    }
    if (const auto v = m.Bool("soft_delete")) {
        out.soft_delete = *v;
        // Rows are marked deleted when a run does not return them, which is only sound when
        // every run lists everything.
        if (*v && out.parent && out.parent->only_changed) {
            ctx.Error(
                m.Get("soft_delete")->mark,
                m.PathOf("soft_delete"),
                "needs the children of every parent on every run; set parent.only_changed: false"
            );
        }
        if (*v && out.incremental) {
            ctx.Error(
                m.Get("soft_delete")->mark,
                m.PathOf("soft_delete"),
                "needs a full listing on every run; it cannot be combined with incremental"
            );
        }
    }
    if (const YamlNode* s = m.Get("schedule")) {
        const PartialSchedule ps = ReadSchedule(ctx, *s, m.PathOf("schedule"));
        if (ps.interval) {
            out.schedule.interval = *ps.interval;
        }
        if (ps.jitter) {
            out.schedule.jitter = *ps.jitter;
        }
        out.own_schedule = ps.interval.has_value() || ps.jitter.has_value();
    }
    if (const auto v = m.Duration("min_interval")) {
        out.min_interval = *v;
    }
    if (const YamlNode* e = m.Get("error_rules")) {
        out.error_rules = ReadErrorRules(ctx, *e, m.PathOf("error_rules"));
    }
    if (const auto v = m.Integer("max_nesting", 0, 64)) {
        out.max_nesting = static_cast<std::uint32_t>(*v);
    }
    if (const YamlNode* c = m.Get("column_types"); c != nullptr && !c->IsNull()) {
        out.column_types = ReadColumnTypes(ctx, *c, m.PathOf("column_types"), out.max_nesting);
    }
    if (const auto v = m.Bool("enabled")) {
        out.enabled = *v;
    }
    out.scalar_field = m.String("scalar_field").value_or("");
    if (const auto v = m.Bool("changes_only")) {
        out.changes_only = *v;
        const bool single = out.pagination.kind == cn::PaginationKind::kNone && !out.parent &&
                            !out.partition && !out.incremental && !out.soft_delete;
        if (*v && !single) {
            ctx.Error(
                m.Get("changes_only")->mark,
                m.PathOf("changes_only"),
                "needs one record a run: no pagination, parent, partition, incremental or "
                "soft_delete"
            );
        }
        if (*v && out.primary_key != std::vector<std::string>{"changed_at"}) {
            ctx.Error(
                m.Get("changes_only")->mark,
                m.PathOf("changes_only"),
                "keeps one row per change, keyed by the time of the change: set primary_key: "
                "changed_at"
            );
        }
    }
    if (const YamlNode* r = m.Get("requires"); r != nullptr && !r->IsNull()) {
        out.requires_params = ReadPrimaryKey(ctx, *r, m.PathOf("requires"));
    }
    m.Finish();
    return out;
}

void CheckParents(
    Context& ctx,
    const std::vector<cn::ResourceSpec>& resources,
    const std::vector<ParentRef>& refs
) {
    std::map<std::string, std::size_t> index;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < resources.size(); ++i) {
        index.emplace(resources[i].name, i);
        names.push_back(resources[i].name);
    }
    for (std::size_t i = 0; i < resources.size(); ++i) {
        const auto& r = resources[i];
        if (!r.parent || r.parent->resource.empty() || refs[i].path.empty()) {
            continue;
        }
        const std::string& parent = r.parent->resource;
        if (parent == r.name) {
            ctx.Error(refs[i].mark, refs[i].path, "a resource cannot be its own parent");
            continue;
        }
        if (index.find(parent) == index.end()) {
            ctx.Error(
                refs[i].mark,
                refs[i].path,
                "unknown resource '" + parent + "'" + DidYouMean(parent, names, "resources")
            );
            continue;
        }
        // Follow the chain; a cycle is reported once, at its first member in file order.
        std::vector<std::size_t> chain{i};
        std::size_t cur = i;
        while (true) {
            const auto& p = resources[cur].parent;
            if (!p) {
                break;
            }
            const auto it = index.find(p->resource);
            if (it == index.end() || it->second == cur) {
                break;
            }
            cur = it->second;
            if (cur == i) {
                if (*std::min_element(chain.begin(), chain.end()) == i) {
                    std::string text;
                    for (const std::size_t c : chain) {
                        text += resources[c].name + " -> ";
                    }
                    text += r.name;
                    ctx.Error(refs[i].mark, refs[i].path, "parent chain forms a cycle: " + text);
                }
                break;
            }
            if (std::find(chain.begin(), chain.end(), cur) != chain.end()) {
                break;
            }
            chain.push_back(cur);
        }
    }
}

}  // namespace chatsync::config::detail
