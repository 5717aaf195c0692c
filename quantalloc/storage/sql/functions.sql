-- The two functions the supabase:// store calls, so that each write is one transaction (one
-- RPC call is one transaction). Migration 1 runs them as they stand here on PostgreSQL, and
-- `quantalloc db schema` prints them after the tables. They hold no percent sign: a DB-API
-- driver reads one as a placeholder.

create or replace function quantalloc_save_run(run_row jsonb, position_rows jsonb)
returns boolean
language plpgsql
as $$
declare
  inserted integer;
begin
  insert into allocation_runs
    select * from jsonb_populate_record(null::allocation_runs, run_row)
    on conflict (run_id) do nothing;
  get diagnostics inserted = row_count;
  if inserted = 0 then
    return false;
  end if;
  insert into allocations
    select * from jsonb_populate_recordset(null::allocations, position_rows);
  return true;
end
$$;

create or replace function quantalloc_replace_table(target_table text, table_rows jsonb)
returns integer
language plpgsql
as $$
declare
  cols text;
  written integer;
begin
  if target_table not in ('industry_allocations_current', 'sector_allocations_current', 'stock_data', 'stock_rankings', 'strategies', 'option_chain_data', 'holdings') then
    raise exception using errcode = '22023',
      message = 'quantalloc_replace_table: unknown input table ' || target_table;
  end if;
  execute 'delete from ' || quote_ident(target_table) || ' where true';
  if jsonb_array_length(table_rows) = 0 then
    return 0;
  end if;
  -- the columns the rows carry: other columns of an adopted table keep their defaults
  select string_agg(quote_ident(c.column_name), ', ' order by c.ordinal_position) into cols
    from information_schema.columns c
    where c.table_schema = current_schema() and c.table_name = target_table
      and c.column_name <> 'id' and (table_rows -> 0) ? c.column_name;
  execute 'insert into ' || quote_ident(target_table) || ' (' || cols || ') select ' || cols
    || ' from jsonb_populate_recordset(null::' || quote_ident(target_table) || ', $1)'
    using table_rows;
  get diagnostics written = row_count;
  return written;
end
$$;
