#include "sink/sink.hpp"

#include <algorithm>

namespace chatsync::sink {

TableCounts& CountsFor(std::vector<TableCounts>& tables, const TableName& name) {
    const auto it = std::find_if(tables.begin(), tables.end(), [&name](const TableCounts& t) {
        return t.name == name;
    });
    if (it != tables.end()) {
        return *it;
    }
    tables.push_back(TableCounts{.name = name});
    return tables.back();
}

}  // namespace chatsync::sink
