"""Where the real data lies, for the tests: `ftm.config.shared_data`, the one finder (the lessons use it too).

Absent data means a skipped test (`pytest.mark.skipif(MAEC is None, ...)`), never a failure."""
from ftm.config import shared_data

MAEC = shared_data('maec/transcripts.parquet')
PRICES = shared_data('prices/daily_prices.parquet')
