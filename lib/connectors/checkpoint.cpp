#include "connectors/checkpoint.hpp"

#include <algorithm>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/redactor.hpp"
#include "core/text.hpp"

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

constexpr std::string_view kOpen = "{{ secret:";
constexpr std::string_view kClose = " }}";
constexpr std::string_view kUrlSuffix = "|url";

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
    if (from.empty()) {
        return;
    }
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

std::optional<std::string> StringAt(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
        return std::string(v->get_string());
    }
    return std::nullopt;
}

std::int64_t IntAt(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_int64()) {
        return v->get_int64();
    }
    return 0;
}

void PutString(json::object& o, std::string_view key, const std::optional<std::string>& value) {
    if (value) {
        o[key] = *value;
    }
}

json::value PositionJson(const PagePosition& p, const SecretTemplates& secrets) {
    PagePosition hidden = p;
    hidden.url = secrets.Hide(p.url);
    hidden.token = secrets.Hide(p.token);
    return hidden.ToJson();
}

/// The stored position with its placeholders filled; nullopt when one cannot be. `clear` is
/// set when the stored form held a registered secret in the clear.
std::optional<PagePosition>
RevealPosition(const json::value& v, const SecretTemplates& secrets, bool& clear) {
    auto p = PagePosition::FromJson(v);
    for (std::string* text : {&p.url, &p.token}) {
        // A secret without a name was masked when stored: the position cannot be used.
        if (text->find(Redactor::kMask) != std::string::npos) {
            return std::nullopt;
        }
        clear = clear || secrets.Hide(*text) != *text;
        auto revealed = secrets.Reveal(*text);
        if (!revealed) {
            return std::nullopt;
        }
        *text = std::move(*revealed);
    }
    return p;
}

}  // namespace

void SecretTemplates::Add(std::string name, std::string value) {
    if (value.size() < 4) {
        return;
    }
    secrets_.emplace_back(std::move(name), std::move(value));
    // Longer values first, so that a secret containing another is replaced whole.
    std::stable_sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) {
        return a.second.size() > b.second.size();
    });
}

std::string SecretTemplates::Hide(std::string_view text) const {
    std::string out(text);
    for (const auto& [name, value] : secrets_) {
        ReplaceAll(out, value, std::string(kOpen) + name + std::string(kClose));
        const auto encoded = UrlEncode(value);
        if (encoded != value) {
            ReplaceAll(
                out,
                encoded,
                std::string(kOpen) + name + std::string(kUrlSuffix) + std::string(kClose)
            );
        }
    }
    return out;
}

std::optional<std::string> SecretTemplates::Reveal(std::string_view text) const {
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const auto open = text.find(kOpen, pos);
        if (open == std::string_view::npos) {
            out.append(text.substr(pos));
            return out;
        }
        const auto close = text.find(kClose, open + kOpen.size());
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.append(text.substr(pos, open - pos));
        auto name = text.substr(open + kOpen.size(), close - open - kOpen.size());
        const bool url = name.ends_with(kUrlSuffix);
        if (url) {
            name.remove_suffix(kUrlSuffix.size());
        }
        const auto it = std::find_if(secrets_.begin(), secrets_.end(), [&](const auto& s) {
            return s.first == name;
        });
        if (it == secrets_.end()) {
            return std::nullopt;
        }
        out.append(url ? UrlEncode(it->second) : it->second);
        pos = close + kClose.size();
    }
}

std::string Checkpoint::Encode(const SecretTemplates& secrets) const {
    json::object o;
    o["version"] = kVersion;
    o["pass"] = pass;
    o["started_at_us"] = started_at_us;
    if (!began_empty.empty()) {
        json::array names;
        for (const auto& name : began_empty) {
            names.emplace_back(name);
        }
        o["began_empty"] = std::move(names);
    }
    PutString(o, "window_start", window_start);
    PutString(o, "run_cursor", run_cursor);
    PutString(o, "keyset_from", keyset_from);
    PutString(o, "unverified_from", unverified_from);
    o["position"] = position ? PositionJson(*position, secrets) : json::value(nullptr);
    o["pages"] = pages;
    o["shifts"] = shifts;
    if (!boundary.tail_keys.empty() || boundary.page) {
        json::object b;
        json::array keys;
        for (const auto& k : boundary.tail_keys) {
            keys.emplace_back(k);
        }
        b["tail_keys"] = std::move(keys);
        if (boundary.page) {
            b["page"] = PositionJson(*boundary.page, secrets);
        }
        if (boundary.total) {
            b["total"] = *boundary.total;
        }
        o["boundary"] = std::move(b);
    }
    o["pending"] = pending;
    if (!partitions.empty()) {
        o["partitions"] = partitions;
    }
    if (!partition_notes.empty()) {
        o["partition_notes"] = partition_notes;
    }
    PutString(o, "last_record", last_record);
    return json::serialize(o);
}

std::optional<Checkpoint>
Checkpoint::Decode(std::string_view text, const SecretTemplates& secrets, bool* migrated) {
    boost::system::error_code ec;
    const auto parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
        return std::nullopt;
    }
    const auto& o = parsed.get_object();
    const auto* version = o.if_contains("version");
    // Version 1 had no version field, no start time, and no boundary.
    const std::int64_t v =
        version == nullptr ? 1 : (version->is_int64() ? version->get_int64() : 0);
    if (v < 1 || v > kVersion) {
        return std::nullopt;
    }
    bool clear = false;
    Checkpoint c;
    c.pass = StringAt(o, "pass").value_or("");
    c.started_at_us = IntAt(o, "started_at_us");
    if (const auto* names = o.if_contains("began_empty"); names != nullptr && names->is_array()) {
        for (const auto& name : names->get_array()) {
            if (name.is_string()) {
                c.began_empty.emplace_back(name.get_string());
            }
        }
    }
    c.window_start = StringAt(o, "window_start");
    c.run_cursor = StringAt(o, "run_cursor");
    c.keyset_from = StringAt(o, "keyset_from");
    c.unverified_from = StringAt(o, "unverified_from");
    c.position = std::nullopt;
    // Every stored checkpoint has a position (null once the listing is done).
    const auto* at = o.if_contains("position");
    if (at == nullptr) {
        return std::nullopt;
    }
    if (!at->is_null()) {
        c.position = RevealPosition(*at, secrets, clear);
        if (!c.position) {
            return std::nullopt;
        }
    }
    c.pages = IntAt(o, "pages");
    c.shifts = IntAt(o, "shifts");
    if (const auto* b = o.if_contains("boundary"); b != nullptr && b->is_object()) {
        const auto& bo = b->get_object();
        if (const auto* keys = bo.if_contains("tail_keys"); keys != nullptr && keys->is_array()) {
            for (const auto& k : keys->get_array()) {
                if (k.is_string()) {
                    c.boundary.tail_keys.emplace_back(k.get_string());
                }
            }
        }
        if (const auto* page = bo.if_contains("page"); page != nullptr && page->is_object()) {
            c.boundary.page = RevealPosition(*page, secrets, clear);
            if (!c.boundary.page) {
                return std::nullopt;
            }
        }
        if (const auto* total = bo.if_contains("total"); total != nullptr && total->is_int64()) {
            c.boundary.total = total->get_int64();
        }
    }
    if (const auto* p = o.if_contains("pending"); p != nullptr && p->is_array()) {
        c.pending = p->get_array();
    }
    if (const auto* p = o.if_contains("partitions"); p != nullptr && p->is_array()) {
        c.partitions = p->get_array();
    }
    if (const auto* p = o.if_contains("partition_notes"); p != nullptr && p->is_object()) {
        c.partition_notes = p->get_object();
    }
    c.last_record = StringAt(o, "last_record");
    if (migrated != nullptr) {
        *migrated = v < kVersion || clear;
    }
    return c;
}

}  // namespace chatsync::connectors
