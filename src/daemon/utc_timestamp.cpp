#include "daemon/utc_timestamp.hpp"

namespace sup::daemon {
namespace {

void put_digits(char* out, std::int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

void format_utc_timestamp(std::int64_t unix_nanos, char* out) {
  std::int64_t seconds = unix_nanos / 1'000'000'000;
  std::int64_t millis = (unix_nanos % 1'000'000'000) / 1'000'000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days -= 1;
  }
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  std::int64_t day_of_era = days - era * 146097;
  std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  std::int64_t shifted_month = (5 * day_of_year + 2) / 153;
  std::int64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  std::int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);

  put_digits(out, year, 4);
  out[4] = '-';
  put_digits(out + 5, month, 2);
  out[7] = '-';
  put_digits(out + 8, day, 2);
  out[10] = 'T';
  put_digits(out + 11, second_of_day / 3600, 2);
  out[13] = ':';
  put_digits(out + 14, second_of_day / 60 % 60, 2);
  out[16] = ':';
  put_digits(out + 17, second_of_day % 60, 2);
  out[19] = '.';
  put_digits(out + 20, millis, 3);
  out[23] = 'Z';
}

}  // namespace sup::daemon
