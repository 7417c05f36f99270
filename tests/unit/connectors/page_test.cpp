#include "connectors/page.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace chatsync::connectors {
namespace {

namespace json = boost::json;

ConnectorSpec ParentAndChild() {
    ConnectorSpec spec;
    ResourceSpec tickets;
    tickets.name = "tickets";
    ResourceSpec comments;
    comments.name = "comments";
    comments.parent = ParentSpec{"tickets", {{"ticket_id", "id"}}, true};
    comments.request.path = "/tickets/{{ parent.id }}/comments";
    comments.request.query = {{"org", "{{parent.org.slug}}"}, {"limit", "10"}};
    spec.resources = {tickets, comments};
    return spec;
}

TEST(ParentKeys, KeepOnlyTheFieldsTheChildrenRead) {
    const auto records = json::parse(
                             R"([{"id":1,"org":{"slug":"acme","plan":"x"},"body":"a long text",)"
                             R"("tags":["a"]},{"id":2,"body":"b"}])"
    )
                             .as_array();
    const auto kept = detail::ParentKeys(ParentAndChild(), "tickets", records);
    EXPECT_EQ(
        kept,
        json::parse(R"([{"id":1,"org":{"slug":"acme","plan":"x"}},{"id":2}])").as_array()
    );
}

TEST(ParentKeys, AResourceWithoutChildrenKeepsNothing) {
    const auto records = json::parse(R"([{"id":1}])").as_array();
    EXPECT_TRUE(detail::ParentKeys(ParentAndChild(), "comments", records).empty());
}

}  // namespace
}  // namespace chatsync::connectors
