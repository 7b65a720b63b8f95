-- migrate:up

/*
 * One buyer, however the key is spelled. A buyer number typed with a
 * Japanese IME (full-width `０００００１`), or pasted with an invisible
 * character in it (a zero-width space, word joiner, soft hyphen, bidi mark,
 * BOM), is the same number to a person and another one to the database.
 * The sync compares buyer numbers by their fold (src/sync/lookalikes.ts,
 * foldKey): a sheet row whose number is not a buyer's number exactly but
 * folds like one fails as a constraint_violation naming the buyer, and a
 * number that folds to nothing is no buyer number. Here: the same fold in
 * SQL, an index of the few buyer numbers that can fold to something else,
 * and a view of the look-alikes already in buyers (verify and health report
 * them).
 */

/*
 * The fold: NFKC; every code point of general category Cf and every
 * Default_Ignorable_Code_Point (Unicode 17) removed; NFKC again (a removed
 * character may have kept a letter and its accent apart); white space
 * trimmed from both ends. The ranges are written out, the same ones as
 * DROPPED_RANGES and TRIMMED in src/sync/lookalikes.ts, so that neither side
 * follows its own Unicode version; test/key-folding.test.ts checks every
 * removed code point against the JavaScript fold.
 */
create function buyer_sync.fold_key(key text)
returns text
language sql immutable strict parallel safe
set search_path = pg_catalog, pg_temp
return btrim(
  normalize(
    regexp_replace(
      normalize(key, nfkc),
      '[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u17b4-\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]',
      '', 'g'),
    nfkc),
  E'\u0009\u000a\u000b\u000c\u000d\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000');
comment on function buyer_sync.fold_key(text) is
  E'A buyer number as a person reads it: NFKC, without invisible format characters (Unicode Cf and Default_Ignorable_Code_Point: zero-width spaces, word joiner, soft hyphen, bidi marks, BOM, variation selectors…), NFKC again, surrounding white space trimmed. Two buyer numbers with the same fold are one buyer written two ways; a number that folds to '''' is no number. The same fold as the sync''s (src/sync/lookalikes.ts). Printable ASCII without surrounding spaces is its own fold.';

/*
 * The buyer numbers that are not their own fold for sure (anything but
 * printable ASCII without surrounding spaces): usually none, or a handful.
 * The sync loads them at the start of each pass, and the view below folds
 * them, without reading a million ASCII ones. The predicate is the same
 * test as isPlainKey in src/sync/lookalikes.ts; a query uses the index only
 * when it writes the predicate exactly so.
 */
create index buyers_unplain_key_idx on public.buyers (buyer_number)
  where buyer_number !~ '^[!-~]([ -~]*[!-~])?$';
comment on index public.buyers_unplain_key_idx is
  E'The buyer numbers that are not plain printable ASCII (or have surrounding spaces): the only ones whose fold (buyer_sync.fold_key) can differ from them. Read by the sync and buyer_sync.lookalike_buyers.';

/*
 * Look-alike groups already in buyers: two or more buyer numbers with one
 * fold (two rows for one buyer), and buyer numbers that fold to nothing
 * (folded_key '': a number no one can see). Only the non-plain numbers are
 * folded; a fold that is a plain number is looked up through the unique
 * index on buyer_number.
 */
create view buyer_sync.lookalike_buyers as
  with unplain as (
    select b.buyer_number, buyer_sync.fold_key(b.buyer_number) as folded_key
      from public.buyers b
     where b.buyer_number !~ '^[!-~]([ -~]*[!-~])?$'
  ), spellings as (
    select u.folded_key, u.buyer_number from unplain u
    union
    select u.folded_key, p.buyer_number
      from unplain u join public.buyers p on p.buyer_number = u.folded_key
  )
  select s.folded_key,
         array_agg(s.buyer_number order by s.buyer_number collate "C") as buyer_numbers,
         count(*)::integer as spellings
    from spellings s
   group by s.folded_key
  having count(*) > 1 or s.folded_key = '';
comment on view buyer_sync.lookalike_buyers is
  E'Buyer numbers in buyers that are one number written differently: each row is a fold (buyer_sync.fold_key) and the buyer numbers that share it (two rows for one buyer). folded_key '''' lists buyer numbers made only of invisible characters or spaces. Empty when all is well; buyer-sync verify and health report it. Buyer numbers only.';
comment on column buyer_sync.lookalike_buyers.folded_key is
  E'The fold the buyer numbers share; '''' for numbers that fold to nothing.';
comment on column buyer_sync.lookalike_buyers.buyer_numbers is
  E'The buyer numbers, as stored, in code point order.';
comment on column buyer_sync.lookalike_buyers.spellings is
  E'How many buyer numbers share the fold.';

/*
 * A verification fails while look-alikes are in buyers (two rows for one
 * buyer is an integrity problem, however complete and accurate the rest is):
 * the report keeps how many groups it found.
 */
alter table buyer_sync.verification_reports
  add column lookalike_groups integer not null default 0 check (lookalike_groups >= 0),
  drop constraint verification_reports_check,
  add constraint verification_reports_passed_check check (passed = (complete and accurate and lookalike_groups = 0));
comment on column buyer_sync.verification_reports.lookalike_groups is
  E'Groups of look-alike buyer numbers the verification found in buyers (buyer_sync.lookalike_buyers): any makes it fail.';

-- migrate:down

-- Reports that failed only for look-alikes stay as they were: the old rule is restored for new reports (not valid).
alter table buyer_sync.verification_reports
  drop constraint verification_reports_passed_check,
  drop column lookalike_groups,
  add constraint verification_reports_check check (passed = (complete and accurate)) not valid;
drop view buyer_sync.lookalike_buyers;
drop index public.buyers_unplain_key_idx;
drop function buyer_sync.fold_key(text);
