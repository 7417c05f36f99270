#include "connectors/page.hpp"

#include <set>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/error.hpp"
#include "core/json.hpp"
#include "normalize/convert.hpp"
#include "normalize/flatten.hpp"

namespace chatsync::connectors::detail {

namespace json = boost::json;

/// Appends the records of a page to a batch, with the parent's fields; checks the key.
Result<void> AppendRecords(
    RowBatch& batch,
    std::span<const json::value> records,
    const ResourceSpec& resource,
    const json::value* parent
) {
    const normalize::FlattenOptions options{
        .max_nesting = resource.max_nesting, .declared = &resource.column_types};
    // A value that its declared type cannot take is bad input, like a malformed page: the
    // page fails and is counted, nothing of it is written, and the checkpoint stays. The
    // message names the field and the JSON type, never the value or the record.
    const auto bad_value = [&](std::size_t i, const normalize::BadValue& bad) {
        return Error(
            Errc::kUpstreamBadPayload,
            "resource " + resource.name + ", record " + std::to_string(i) + ": " + bad.Describe()
        );
    };
    std::size_t index = 0;
    for (const auto& item : records) {
        const auto* record = item.if_object();
        if (record == nullptr) {
            return Error(
                Errc::kUpstreamBadPayload,
                "record " + std::to_string(index) + " is not a JSON object"
            );
        }
        if (const auto bad = normalize::AppendRecord(batch, *record, options)) {
            return bad_value(index, *bad);
        }
        if (parent != nullptr && resource.parent) {
            for (const auto& [column, path] : resource.parent->fields) {
                const auto* v = FindPath(*parent, path);
                const auto declared = resource.column_types.find(column);
                if (declared != resource.column_types.end()) {
                    const auto at = batch.Declare(column, column, declared->second);
                    if (v == nullptr || v->is_null()) {
                        continue;
                    }
                    auto converted = normalize::ConvertTo(*v, declared->second);
                    if (!converted) {
                        return bad_value(
                            index, {column, declared->second, normalize::JsonTypeName(*v)}
                        );
                    }
                    batch.Set(at, std::move(*converted));
                } else if (v != nullptr && !v->is_null()) {
                    batch.Set(batch.Column(column, column), normalize::ToValue(*v));
                }
            }
        }
        for (const auto& key : resource.primary_key) {
            const auto col = batch.FindColumn(key);
            const auto& row = batch.rows().back();
            if (!col || *col >= row.size() || !row[*col]) {
                return Error(
                    Errc::kUpstreamBadPayload,
                    "record " + std::to_string(index) + " has no value for primary key field '" +
                        key + "'"
                );
            }
        }
        ++index;
    }
    // Noted without a type, so that a row whose record no longer holds a NUL clears the
    // original kept for an earlier version (and a table without the column gets none).
    batch.Column(kOriginalField, kOriginalField);
    return {};
}

/// Where a page's records are: the value at the records path (or at a fallback path); nullptr
/// when an optional path is absent. The body keeps them until TakeRecords.
Result<json::value*> FindRecords(json::value& body, const ResourceSpec& resource) {
    const auto* v = FindPath(body, resource.records_path);
    for (const auto& path : resource.more_records_paths) {
        if (v != nullptr) {
            break;
        }
        v = FindPath(body, path);
    }
    if (v == nullptr) {
        if (resource.records_optional) {
            return nullptr;
        }
        return Error(
            Errc::kUpstreamBadPayload,
            "records path '" + resource.records_path + "' not found in the response"
        );
    }
    if (!v->is_array() && !v->is_object() && !v->is_null() && resource.scalar_field.empty()) {
        return Error(
            Errc::kUpstreamBadPayload,
            "records path '" + resource.records_path + "' holds neither an array nor an object"
        );
    }
    // FindPath only reads; the body is the caller's to change.
    return const_cast<json::value*>(v);
}

namespace {

/// Whether a string or key of `v` holds a NUL (ParseJsonKeepingNul's tree).
bool HoldsNul(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return !BigIntegerText(v) && v.get_string().find('\0') != json::string::npos;
        case json::kind::array:
            for (const auto& e : v.get_array()) {
                if (HoldsNul(e)) {
                    return true;
                }
            }
            return false;
        case json::kind::object:
            for (const auto& kv : v.get_object()) {
                if (kv.key().find('\0') != std::string_view::npos || HoldsNul(kv.value())) {
                    return true;
                }
            }
            return false;
        default:
            return false;
    }
}

void AttachOriginal(json::value& record, const json::value& exact) {
    auto* object = record.if_object();
    if (object != nullptr && exact.is_object() && !object->contains(kOriginalField) &&
        HoldsNul(exact)) {
        object->emplace(kOriginalField, SerializeJson(exact));
    }
}

}  // namespace

void AttachOriginals(json::value& body, std::string_view text, const ResourceSpec& resource) {
    boost::system::error_code ec;
    json::value exact_body = ParseJsonKeepingNul(text, ec);
    const auto repaired = FindRecords(body, resource);
    const auto exact = FindRecords(exact_body, resource);
    if (ec || !repaired || !exact || *repaired == nullptr || *exact == nullptr) {
        return;
    }
    auto* records = (*repaired)->if_array();
    const auto* exact_records = (*exact)->if_array();
    if (records != nullptr && exact_records != nullptr) {
        if (records->size() == exact_records->size()) {
            for (std::size_t i = 0; i < records->size(); ++i) {
                AttachOriginal((*records)[i], (*exact_records)[i]);
            }
        }
    } else {
        AttachOriginal(**repaired, **exact);
    }
}

/// How many records TakeRecords makes of what FindRecords found.
std::size_t RecordCount(const json::value* v) {
    if (v == nullptr || v->is_null()) {
        return 0;
    }
    return v->is_array() ? v->get_array().size() : 1;
}

/// Moves the records out of the body (no copy: they share the page's memory): an array as it
/// is, one object as a one-record page, a scalar as the record {scalar_field: value}.
json::array TakeRecords(json::value* v, const ResourceSpec& resource) {
    if (v == nullptr || v->is_null()) {
        return json::array(v == nullptr ? json::storage_ptr() : v->storage());
    }
    if (auto* arr = v->if_array()) {
        return std::move(*arr);
    }
    json::array out(v->storage());
    if (v->is_object()) {
        out.push_back(std::move(*v));
    } else {
        json::object record(v->storage());
        record[resource.scalar_field] = std::move(*v);
        out.push_back(std::move(record));
    }
    return out;
}

std::vector<const ResourceSpec*> ChildrenOf(const ConnectorSpec& spec, const std::string& parent) {
    std::vector<const ResourceSpec*> out;
    for (const auto& r : spec.resources) {
        if (r.enabled && r.parent && r.parent->resource == parent) {
            out.push_back(&r);
        }
    }
    return out;
}

namespace {

/// Adds the first segment of every `{{ parent.<path> }}` in `text` to `names`.
void ParentNames(std::string_view text, std::set<std::string>& names) {
    constexpr std::string_view kPrefix = "parent.";
    for (auto at = text.find("{{"); at != std::string_view::npos; at = text.find("{{", at + 2)) {
        auto inner = text.substr(at + 2);
        while (!inner.empty() && inner.front() == ' ') {
            inner.remove_prefix(1);
        }
        if (!inner.starts_with(kPrefix)) {
            continue;
        }
        inner.remove_prefix(kPrefix.size());
        const auto end = inner.find_first_of(". }");
        names.emplace(inner.substr(0, end));
    }
}

}  // namespace

json::array
ParentKeys(const ConnectorSpec& spec, const std::string& parent, const json::array& records) {
    const auto children = ChildrenOf(spec, parent);
    if (children.empty()) {
        return {};
    }
    std::set<std::string> names;
    for (const auto* child : children) {
        // ChildrenOf lists only resources that name a parent.
        const auto& link = child->parent;
        if (!link) {
            continue;
        }
        for (const auto& [column, path] : link->fields) {
            names.insert(path.substr(0, path.find('.')));
        }
        const auto& request = child->request;
        ParentNames(request.path, names);
        for (const auto& [name, value] : request.query) {
            ParentNames(value, names);
        }
        for (const auto& [name, value] : request.headers) {
            ParentNames(value, names);
        }
        if (const auto& body = request.body; body) {
            ParentNames(json::serialize(*body), names);
        }
    }
    json::array out;
    for (const auto& record : records) {
        json::object kept;
        if (const auto* o = record.if_object()) {
            for (const auto& name : names) {
                if (const auto* v = o->if_contains(name)) {
                    kept[name] = *v;
                }
            }
        }
        out.emplace_back(std::move(kept));
    }
    return out;
}

/// The run outcome a failed fetch ends in.
RunOutcome OutcomeOf(boost::system::error_code ec) {
    if (ec == Errc::kCancelled) {
        return RunOutcome::kCancelled;
    }
    if (ec == Errc::kUpstreamLatched) {
        return RunOutcome::kLatched;
    }
    if (ec == Errc::kSourceHeld) {
        return RunOutcome::kHeld;
    }
    return RunOutcome::kFailed;
}

}  // namespace chatsync::connectors::detail
