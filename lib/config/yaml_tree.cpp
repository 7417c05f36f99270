#include "config/detail/yaml_tree.hpp"

#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace chatsync::config::detail {

namespace {

// Aliases are expanded by copying, so a small document of nested aliases ("billion laughs")
// could grow without bound; these caps turn that into an error instead of an exhausted heap.
constexpr std::size_t kMaxNodes = 1'000'000;
constexpr int kMaxDepth = 128;

class TooLarge {};

/// yaml-cpp 0.7 reads an endless run of empty documents from some malformed text (fuzz corpus
/// fuzz_config/endless_documents), so YAML::LoadAll never returns on it; documents are counted
/// up to this many instead.
constexpr std::size_t kMaxDocuments = 100;

/// Counts the documents of a text and notes where the second one's content starts, without
/// building nodes.
class DocumentCounter final : public YAML::EventHandler {
public:
    std::size_t documents = 0;
    std::optional<YAML::Mark> second;

    void OnDocumentStart(const YAML::Mark& mark) override {
        ++documents;
        if (documents == 2) {
            second = mark;
            second_has_node_ = false;
        }
    }

    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }

    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&)
        override {
        Node(mark);
    }

    void OnSequenceStart(
        const YAML::Mark& mark,
        const std::string&,
        YAML::anchor_t,
        YAML::EmitterStyle::value
    ) override {
        Node(mark);
    }

    void OnSequenceEnd() override {}

    void OnMapStart(
        const YAML::Mark& mark,
        const std::string&,
        YAML::anchor_t,
        YAML::EmitterStyle::value
    ) override {
        Node(mark);
    }

    void OnMapEnd() override {}

private:
    /// The second document's root node is where its content starts (the mark LoadAll's node
    /// would have).
    void Node(const YAML::Mark& mark) {
        if (documents == 2 && !second_has_node_) {
            second = mark;
            second_has_node_ = true;
        }
    }

    bool second_has_node_ = false;
};

Mark ToMark(const YAML::Mark& m) {
    if (m.line < 0 || m.column < 0) {
        return {};
    }
    Mark mark;
    mark.line = m.line + 1;
    mark.column = m.column + 1;
    return mark;
}

class Converter {
public:
    YamlNode Convert(const YAML::Node& in, int depth) {
        if (++count_ > kMaxNodes || depth > kMaxDepth) {
            throw TooLarge{};
        }
        YamlNode out;
        out.mark = ToMark(in.Mark());
        const std::string& tag = in.Tag();
        if (tag != "?" && tag != "!") {
            out.tag = tag;
        }
        switch (in.Type()) {
            case YAML::NodeType::Scalar:
                out.kind = YamlNode::Kind::kScalar;
                out.scalar = in.Scalar();
                out.plain = tag == "?";
                break;
            case YAML::NodeType::Sequence:
                out.kind = YamlNode::Kind::kSequence;
                for (const auto& item : in) {
                    out.items.push_back(Convert(item, depth + 1));
                }
                break;
            case YAML::NodeType::Map:
                out.kind = YamlNode::Kind::kMapping;
                for (const auto& kv : in) {
                    MapEntry e{Convert(kv.first, depth + 1), Convert(kv.second, depth + 1)};
                    // yaml-cpp marks an empty value ("key:") at the next token, often on a
                    // later line; the key is where the reader should look.
                    if (e.value.IsNull() || e.value.mark.line == 0) {
                        e.value.mark = e.key.mark;
                    }
                    out.entries.push_back(std::move(e));
                }
                break;
            case YAML::NodeType::Null:
            case YAML::NodeType::Undefined:
                out.kind = YamlNode::Kind::kNull;
                break;
        }
        return out;
    }

private:
    std::size_t count_ = 0;
};

}  // namespace

std::string_view KindName(const YamlNode& node) {
    switch (node.kind) {
        case YamlNode::Kind::kNull:
            return "nothing";
        case YamlNode::Kind::kScalar:
            return "a single value";
        case YamlNode::Kind::kSequence:
            return "a list";
        case YamlNode::Kind::kMapping:
            return "a mapping";
    }
    return "a node";
}

std::variant<YamlNode, ConfigError> ParseYaml(const std::string& text, const std::string& file) {
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        DocumentCounter counter;
        while (counter.documents < kMaxDocuments && parser.HandleNextDocument(counter)) {
        }
        if (counter.documents > 1) {
            // A second document would be silently ignored; say so instead.
            const Mark m = ToMark(counter.second.value_or(YAML::Mark::null_mark()));
            const std::string found = counter.documents < kMaxDocuments
                                          ? std::to_string(counter.documents)
                                          : "over " + std::to_string(kMaxDocuments - 1);
            return ConfigError(
                file, m.line, m.column, "", "expected one YAML document, found " + found
            );
        }
        YamlNode out =
            counter.documents == 0 ? YamlNode{} : Converter{}.Convert(YAML::Load(text), 0);
        if (out.IsNull()) {
            out.mark.line = 1;
            out.mark.column = 1;
        }
        return out;
    } catch (const YAML::Exception& e) {
        const Mark m = ToMark(e.mark);
        return ConfigError(file, m.line, m.column, "", e.msg);
    } catch (const TooLarge&) {
        return ConfigError(
            file, 1, 1, "", "document too large or too deeply nested (after expanding aliases)"
        );
    }
}

}  // namespace chatsync::config::detail
