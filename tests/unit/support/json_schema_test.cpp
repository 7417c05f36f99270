#include "support/json_schema.hpp"

#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace chatsync::test {
namespace {

namespace json = boost::json;

const json::value kSchema = json::parse(R"({
  "title": "a table list",
  "type": "object",
  "required": ["tables"],
  "additionalProperties": false,
  "properties": {
    "tables": {"type": "array", "items": {"$ref": "#/$defs/table"}},
    "state": {"type": ["string", "null"], "enum": ["ok", "bad", null]}
  },
  "$defs": {
    "table": {
      "type": "object",
      "required": ["name", "rows"],
      "properties": {
        "name": {"type": "string"},
        "rows": {"type": ["integer", "null"], "minimum": 0}
      }
    }
  }
})");

std::vector<std::string> Errors(const char* document) {
    return ValidateJson(json::parse(document), kSchema);
}

TEST(JsonSchema, AConformingDocumentHasNoErrors) {
    EXPECT_EQ(
        Errors(R"({"tables": [{"name": "a", "rows": 3}, {"name": "b", "rows": null}]})"),
        std::vector<std::string>{}
    );
    EXPECT_EQ(Errors(R"({"tables": [], "state": null})"), std::vector<std::string>{});
}

TEST(JsonSchema, EachBreachIsReportedWhereItIs) {
    const std::vector<std::pair<const char*, std::string>> cases = {
        {R"({})", "$: missing 'tables'"},
        {R"({"tables": {}})", "$.tables: {} is not of type \"array\""},
        {R"({"tables": [], "extra": 1})", "$: unexpected property 'extra'"},
        {R"({"tables": [{"name": "a"}]})", "$.tables[0]: missing 'rows'"},
        {R"({"tables": [{"name": 1, "rows": 1}]})",
         "$.tables[0].name: 1 is not of type \"string\""},
        {R"({"tables": [{"name": "a", "rows": 1.5}]})",
         "$.tables[0].rows: 1.5E0 is not of type [\"integer\",\"null\"]"},
        {R"({"tables": [{"name": "a", "rows": -1}]})",
         "$.tables[0].rows: -1 is less than the minimum 0"},
        {R"({"tables": [], "state": "odd"})",
         "$.state: \"odd\" is not one of [\"ok\",\"bad\",null]"},
    };
    for (const auto& [document, error] : cases) {
        EXPECT_EQ(Errors(document), std::vector<std::string>{error}) << document;
    }
}

TEST(JsonSchema, KeywordsItDoesNotCheckAreErrorsNotPasses) {
    const auto schema = json::parse(R"({"type": "string", "pattern": "^a"})");
    EXPECT_EQ(
        ValidateJson(json::parse(R"("b")"), schema),
        std::vector<std::string>{"$: the schema uses 'pattern', which is not checked"}
    );
    const auto dangling = json::parse(R"({"$ref": "#/$defs/none"})");
    EXPECT_EQ(
        ValidateJson(json::parse("1"), dangling),
        std::vector<std::string>{"$: unresolved $ref \"#/$defs/none\""}
    );
}

}  // namespace
}  // namespace chatsync::test
