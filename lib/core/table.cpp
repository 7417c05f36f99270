#include "core/table.hpp"

#include "core/json.hpp"

namespace chatsync {

ColumnType Widen(ColumnType a, ColumnType b) noexcept {
    if (a == b) {
        return a;
    }
    if (a == ColumnType::kJsonb || b == ColumnType::kJsonb) {
        return ColumnType::kJsonb;
    }
    const auto is_number = [](ColumnType t) {
        return t == ColumnType::kBigint || t == ColumnType::kDouble || t == ColumnType::kNumeric;
    };
    if (is_number(a) && is_number(b)) {
        // numeric reads the shortest text of a double back as the same decimal, so it keeps
        // doubles as they were written, and big integers, which a double would round.
        return a == ColumnType::kNumeric || b == ColumnType::kNumeric ? ColumnType::kNumeric
                                                                      : ColumnType::kDouble;
    }
    return ColumnType::kText;
}

std::string_view ColumnTypeName(ColumnType t) noexcept {
    for (const auto& [name, type] : kColumnTypeNames) {
        if (type == t) {
            return name;
        }
    }
    return "text";
}

std::size_t RowBatch::Column(std::string_view path, std::string_view name, ColumnType type) {
    if (const auto it = by_path_.find(path); it != by_path_.end()) {
        auto& col = columns_[it->second];
        if (!col.declared) {
            col.type = col.typed ? Widen(col.type, type) : type;
            col.typed = true;
        }
        return it->second;
    }
    columns_.push_back(ColumnDef{std::string(path), std::string(name), type, true});
    by_path_.emplace(std::string(path), columns_.size() - 1);
    return columns_.size() - 1;
}

std::size_t RowBatch::Declare(std::string_view path, std::string_view name, ColumnType type) {
    if (const auto it = by_path_.find(path); it != by_path_.end()) {
        auto& col = columns_[it->second];
        col.type = type;
        col.typed = true;
        col.declared = true;
        return it->second;
    }
    columns_.push_back(ColumnDef{std::string(path), std::string(name), type, true, true});
    by_path_.emplace(std::string(path), columns_.size() - 1);
    return columns_.size() - 1;
}

std::optional<std::size_t> RowBatch::FindColumn(std::string_view path) const {
    if (next_lookup_ < columns_.size() && columns_[next_lookup_].path == path) {
        return next_lookup_++;
    }
    if (const auto it = by_path_.find(path); it != by_path_.end()) {
        next_lookup_ = it->second + 1;
        return it->second;
    }
    return std::nullopt;
}

RowBatch::Row& RowBatch::AddRow() {
    auto& row = rows_.emplace_back();
    row.reserve(columns_.size());
    return row;
}

std::size_t RowBatch::Column(std::string_view path, std::string_view name) {
    if (const auto it = by_path_.find(path); it != by_path_.end()) {
        return it->second;
    }
    columns_.push_back(ColumnDef{std::string(path), std::string(name), ColumnType::kText, false});
    by_path_.emplace(std::string(path), columns_.size() - 1);
    return columns_.size() - 1;
}

void RowBatch::Set(std::size_t column, Value value) {
    auto& row = rows_.back();
    if (row.size() <= column) {
        row.resize(column + 1);
    }
    auto& col = columns_[column];
    if (!col.declared) {
        col.type = col.typed ? Widen(col.type, value.type) : value.type;
        col.typed = true;
    }
    bytes_ += value.text.size();
    row[column] = std::move(value);
}

void RowBatch::Append(RowBatch&& other) {
    if (rows_.empty() && columns_.empty()) {
        *this = std::move(other);
        return;
    }
    std::vector<std::size_t> target(other.columns_.size());
    for (std::size_t i = 0; i < other.columns_.size(); ++i) {
        const ColumnDef& from = other.columns_[i];
        target[i] = Column(from.path, from.name);
        if (from.declared) {
            Declare(from.path, from.name, from.type);
        } else if (from.typed && !columns_[target[i]].declared) {
            ColumnDef& col = columns_[target[i]];
            col.type = col.typed ? Widen(col.type, from.type) : from.type;
            col.typed = true;
        }
    }
    rows_.reserve(rows_.size() + other.rows_.size());
    for (Row& row : other.rows_) {
        Row& out = rows_.emplace_back();
        out.reserve(columns_.size());
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (!row[i]) {
                continue;
            }
            if (out.size() <= target[i]) {
                out.resize(target[i] + 1);
            }
            out[target[i]] = std::move(row[i]);
        }
    }
    bytes_ += other.bytes_;
    other = RowBatch{};
}

std::string_view CellText(const Value& v, ColumnType target, std::string& scratch) {
    if (target != ColumnType::kJsonb ||
        (v.type != ColumnType::kText && v.type != ColumnType::kTimestamptz)) {
        return v.text;
    }
    scratch.clear();
    AppendJsonString(scratch, v.text);
    return scratch;
}

}  // namespace chatsync
