-- The assets we count, by code, with their base-unit scale. The code names the asset and its
-- network ('USDT_ERC20'), because the same ticker on another chain has other decimals and contracts.
-- Amount columns store base units (wei, USDT micro-units, cents) beside an asset code that points here.
-- Keep in step with ASSETS in shared/money.

CREATE TABLE assets (
  code     text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,31}$'),
  symbol   text NOT NULL CHECK (symbol ~ '^[A-Z0-9]{2,10}$'),
  decimals smallint NOT NULL CHECK (decimals BETWEEN 0 AND 36),
  -- Chain the asset lives on; NULL for fiat.
  network  text CHECK (network ~ '^[a-z0-9-]{2,32}$')
);

INSERT INTO assets (code, symbol, decimals, network) VALUES
  ('ETH',        'ETH',  18, 'ethereum'),
  ('USDT_ERC20', 'USDT',  6, 'ethereum'),
  ('USD',        'USD',   2, NULL);

CREATE TRIGGER assets_no_delete BEFORE DELETE ON assets FOR EACH ROW EXECUTE FUNCTION reject_delete();
