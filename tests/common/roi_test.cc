#include "common/roi.h"

#include "gtest/gtest.h"

namespace dnoscope {
namespace {

TEST(RoiTest, ParsesFourIntegers) {
  auto roi = ParseRoi("10, 20,110,220");
  ASSERT_TRUE(roi.ok()) << roi.status();
  EXPECT_EQ(*roi, (Roi{10, 20, 110, 220}));
  EXPECT_EQ(roi->width(), 100);
  EXPECT_EQ(roi->height(), 200);
}

TEST(RoiTest, RejectsMalformed) {
  for (const char* bad : {"", "1,2,3", "1,2,3,4,5", "a,b,c,d", "10,10,5,20", "-1,0,4,4"}) {
    EXPECT_FALSE(ParseRoi(bad).ok()) << bad;
  }
}

TEST(RoiTest, BoxCentreContainment) {
  Roi roi{0, 100, 200, 200};
  EXPECT_TRUE(roi.ContainsBoxCentre(0, 90, 20, 130));       // centre y = 110
  EXPECT_FALSE(roi.ContainsBoxCentre(0, 0, 20, 100));       // centre y = 50
  EXPECT_FALSE(roi.ContainsBoxCentre(190, 150, 230, 160));  // centre x = 210
}

TEST(RoiTest, CheckInFrame) {
  EXPECT_TRUE(CheckRoiInFrame({0, 0, 768, 576}, 768, 576).ok());
  EXPECT_FALSE(CheckRoiInFrame({0, 0, 769, 576}, 768, 576).ok());
}

TEST(FrameRangeTest, ParsesForms) {
  auto r = ParseFrameRange("5:10");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start, 5);
  EXPECT_EQ(*r->end, 10);
  EXPECT_TRUE(r->Contains(5));
  EXPECT_FALSE(r->Contains(10));
  auto open = ParseFrameRange("7:");
  ASSERT_TRUE(open.ok());
  EXPECT_FALSE(open->end.has_value());
  auto head = ParseFrameRange(":3");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->start, 0);
  EXPECT_EQ(*head->end, 3);
}

TEST(FrameRangeTest, RejectsMalformed) {
  for (const char* bad : {"5", "a:b", "10:5", "3:3", "-1:4"}) {
    EXPECT_FALSE(ParseFrameRange(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace dnoscope
