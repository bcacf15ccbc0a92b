#include "bench/seed.h"

#include <iterator>

namespace dnoscope::bench {

const std::vector<SeedTable1Row>& SeedTable1() {
  static const std::vector<SeedTable1Row> kRows = {
      {50, 22, {66, 47, 38, 38}},          {500, 49, {147, 113, 89, 74}},
      {1000, 117, {360, 237, 202, 186}},   {2000, 170, {521, 390, 305, 267}},
      {5000, 569, {1692, 1201, 984, 875}},
  };
  return kRows;
}

const SeedTable1Row* FindSeedTable1Row(int64_t frames) {
  for (const SeedTable1Row& row : SeedTable1()) {
    if (row.frames == frames) return &row;
  }
  return nullptr;
}

double SeedTable1Seconds(int64_t frames, int servers) {
  constexpr int kServers[] = {1, 2, 4, 8};
  const SeedTable1Row* row = FindSeedTable1Row(frames);
  for (size_t i = 0; row != nullptr && i < std::size(kServers); ++i) {
    if (kServers[i] == servers) return row->seconds[i];
  }
  return -1;
}

}  // namespace dnoscope::bench
