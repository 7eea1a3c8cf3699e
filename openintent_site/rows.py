"""Model instances read and written with hand-written SQL, for the few statements that run on every request.

Composing a query through the ORM costs a few tenths of a millisecond of CPU each time; for a statement that never
changes, the SQL and the per-column conversions can be worked out once per process instead. ``ModelColumns`` knows
which columns to select and how the ORM would have turned each into a field value, and writes fields back.
"""

from functools import cache

from django.db import connections


class ModelColumns:
    """The concrete columns of ``model`` on one database: their SELECT list and what converts a row of them."""

    @staticmethod
    @cache
    def of(model, alias):
        return ModelColumns(model, alias)

    def __init__(self, model, alias):
        self.model, self.alias = model, alias
        connection = connections[alias]
        quote = connection.ops.quote_name
        table = model._meta.db_table
        fields = model._meta.concrete_fields
        self.table = quote(table)
        self.select_list = ", ".join(f"{self.table}.{quote(field.column)}" for field in fields)
        self.attnames = [field.attname for field in fields]
        # The conversions the ORM applies to each column it reads: the backend's, then the field's (JSON text to
        # values, SQLite's text timestamps to datetimes, ...).
        self.converters = []
        for field in fields:
            column = field.get_col(table)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            self.converters.append((column, converters))

    def instance(self, row):
        """The model instance of ``row``, a tuple in the order of ``select_list``, as the ORM would load it."""
        connection = connections[self.alias]
        values = [
            convert(value, column, converters, connection)
            for value, (column, converters) in zip(row, self.converters, strict=True)
        ]
        return self.model.from_db(self.alias, self.attnames, values)

    def select(self, where, params, *, lock=False):
        """The instances of the rows matching ``where`` (SQL after WHERE, ORDER BY and LIMIT may follow), their rows
        locked for update where the database has row locks when ``lock`` is true."""
        connection = connections[self.alias]
        locking = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {self.select_list} FROM {self.table} WHERE {where}{locking}", params)
            return [self.instance(row) for row in cursor.fetchall()]

    def prepared(self, name, value):
        """``value`` of the field ``name`` as a query parameter for the database, as the ORM would pass it."""
        return self.model._meta.get_field(name).get_db_prep_value(value, connections[self.alias])

    def save_fields(self, instance, names):
        """Write the fields ``names`` of ``instance`` to its row, as ``save(update_fields=names)`` would, with an
        UPDATE composed once per process and set of fields."""
        connection = connections[self.alias]
        fields = [self.model._meta.get_field(name) for name in names]
        params = [field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields]
        params.append(self.model._meta.pk.get_db_prep_value(instance.pk, connection))
        with connection.cursor() as cursor:
            cursor.execute(self.update_sql(tuple(field.column for field in fields)), params)

    @cache  # noqa: B019  one per process and model, like the instances themselves (ModelColumns.of)
    def update_sql(self, columns):
        quote = connections[self.alias].ops.quote_name
        assignments = ", ".join(f"{quote(column)} = %s" for column in columns)
        return f"UPDATE {self.table} SET {assignments} WHERE {quote(self.model._meta.pk.column)} = %s"

    def insert_unless_conflict(self, instance):
        """INSERT ``instance`` unless a unique constraint finds a row like it already, and say whether it did. A
        refused INSERT writes nothing and raises nothing, so the transaction goes on without a savepoint."""
        connection = connections[self.alias]
        fields = self.model._meta.concrete_fields
        params = [field.get_db_prep_save(getattr(instance, field.attname), connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(self.insert_sql(), params)
            inserted = cursor.fetchone() is not None
        if inserted:
            instance._state.adding, instance._state.db = False, self.alias
        return inserted

    @cache  # noqa: B019  as update_sql
    def insert_sql(self):
        quote = connections[self.alias].ops.quote_name
        fields = self.model._meta.concrete_fields
        names = ", ".join(quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        pk = quote(self.model._meta.pk.column)
        return f"INSERT INTO {self.table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING RETURNING {pk}"

    def converter(self, attname):
        """A function taking a value of the column of ``attname`` as the database returns it to the field's value, as
        the ORM would convert it: for statements that read a column or two rather than whole rows."""
        column, converters = self.converters[self.attnames.index(attname)]
        return lambda value: convert(value, column, converters, connections[self.alias])


def convert(value, column, converters, connection):
    for converter in converters:
        value = converter(value, column, connection)
    return value
