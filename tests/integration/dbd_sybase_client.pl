#!/usr/bin/perl
# DBD::Sybase (Debian libdbd-sybase-perl) through FreeTDS ct-lib against bakrest, run by test_dbd_sybase.py with
# FREETDSCONF naming a freetds.conf whose [<server>] section holds host, port and `tds version = 7.4`.
#
# usage: dbd_sybase_client.pl <server> <user> <password> <database> <part> [<n>]
#   part tx:       CREATE TABLE; begin_work/INSERT/rollback undoes the insert and returns true without an error;
#                  begin_work/INSERT/commit keeps it
#   part tasks:    exec msdb.dbo.rds_backup_database, then exec msdb.dbo.rds_task_status until the task ends, then
#                  exec msdb.dbo.rds_task_status (all tasks) returns its rows
#   part nvarchar: SELECT of an NVARCHAR(MAX) value of <n> characters
# DBD::Sybase 1.14 (Debian's) connects with syb_chained_txn => 0: in its default chained mode it sends a bare
# COMMIT TRAN whenever AutoCommit goes back on after begin_work's commit or rollback, which SQL Server (and
# bakrest with it) answers with 3902 at @@TRANCOUNT 0 (DBD::Sybase 1.18 stopped sending it to Microsoft SQL
# Server); unchained, it brackets the work with BEGIN TRAN and COMMIT or ROLLBACK TRAN of a name of its own.
# Each part runs in a process of its own, so a client that dies in one part (DBD::Sybase has died with "Out of
# memory!" on NVARCHAR(MAX) columns) still lets the others report. Every check prints "CHECK ok <what>" or
# "CHECK fail <what>: <why>", each step is announced by "STEP <name>" first (so a process that dies can be placed),
# and the last line is "END <part>".
use strict;
use warnings;
use DBI;
use Time::HiRes qw(time sleep);

$| = 1;
my ($server, $user, $password, $database, $part, $n) = @ARGV;
die "usage: $0 server user password database part [n]\n" unless defined $part;

sub report {
    my ($ok, $what, $why) = @_;
    my $line = $ok ? "CHECK ok $what" : "CHECK fail $what: $why";
    $line =~ s/[\r\n]+/ /g;
    print "$line\n";
}

sub show {
    my ($v) = @_;
    return 'undef' unless defined $v;
    return length($v) > 60 ? "'" . substr($v, 0, 60) . "...' (" . length($v) . " chars)" : "'$v'";
}

sub eq_check {
    my ($what, $expected, $actual) = @_;
    my $same = (!defined $expected && !defined $actual)
        || (defined $expected && defined $actual && $expected eq $actual);
    report($same, $what, "expected " . show($expected) . ", got " . show($actual));
}

# Runs a step; an error (RaiseError dies) is one failed check naming the step and the server's message.
sub step {
    my ($name, $body) = @_;
    print "STEP $name\n";
    eval { $body->(); 1 } or do {
        my $e = $@ || 'unknown error';
        $e =~ s/\s+$//;
        report(0, $name, $e);
    };
}

my $dbh;
step("connect (dbi:Sybase:server=$server;database=$database)", sub {
    $dbh = DBI->connect("dbi:Sybase:server=$server;database=$database", $user, $password,
                        { RaiseError => 1, PrintError => 0, AutoCommit => 1, syb_chained_txn => 0 });
    eq_check("connected to database $database", $database, scalar $dbh->selectrow_array("SELECT DB_NAME()"));
});

sub need {
    die "not run: there is no connection (connect failed)\n" unless $dbh;
    return $dbh;
}

sub scalar_of {
    my ($sql) = @_;
    my @row = need()->selectrow_array($sql);
    return $row[0];
}

# The rows of every row result of a statement, and the first one's column names. DBD::Sybase also hands back a
# procedure's return status as a one-row result set of its own (CS_STATUS_RESULT); that one is left out.
sub results {
    my ($sql) = @_;
    my $sth = need()->prepare($sql);
    $sth->execute;
    my (@rows, $names);
    do {
        my $data = $sth->{syb_result_type} == DBD::Sybase::CS_ROW_RESULT();
        $names ||= [@{ $sth->{NAME} || [] }] if $data;
        while (my $row = $sth->fetchrow_hashref) {
            push @rows, {%$row} if $data;
        }
    } while ($sth->{syb_more_results});
    $sth->finish;
    return (\@rows, $names || []);
}

if ($part eq 'tx') {
    step("CREATE TABLE pl_t", sub { need()->do("CREATE TABLE pl_t (id INT NOT NULL PRIMARY KEY, name NVARCHAR(50))") });

    step("begin_work, INSERT, rollback", sub {
        need()->begin_work;
        need()->do("INSERT INTO pl_t (id, name) VALUES (1, N'rolled back')");
        eq_check("the inserted row, seen inside the transaction", 1, scalar_of("SELECT COUNT(*) FROM pl_t WHERE id = 1"));
        my $ok = eval { need()->rollback };
        my $error = $@;
        $error =~ s/\s+$//;
        report(!$error, "\$dbh->rollback raises no error", $error);
        report($ok, "\$dbh->rollback returns true", defined $ok ? "returned '$ok'" : "returned undef");
    });
    step("after the rollback", sub {
        eq_check("AutoCommit is on again after the rollback", 1, need()->{AutoCommit} ? 1 : 0);
        eq_check("\@\@TRANCOUNT after the rollback", 0, scalar_of("SELECT \@\@TRANCOUNT"));
        eq_check("the rolled back row is gone", 0, scalar_of("SELECT COUNT(*) FROM pl_t WHERE id = 1"));
    });

    step("begin_work, INSERT, commit", sub {
        need()->begin_work;
        need()->do("INSERT INTO pl_t (id, name) VALUES (2, N'committed')");
        my $ok = eval { need()->commit };
        my $error = $@;
        $error =~ s/\s+$//;
        report(!$error, "\$dbh->commit raises no error", $error);
        report($ok, "\$dbh->commit returns true", defined $ok ? "returned '$ok'" : "returned undef");
    });
    step("after the commit", sub {
        eq_check("AutoCommit is on again after the commit", 1, need()->{AutoCommit} ? 1 : 0);
        eq_check("\@\@TRANCOUNT after the commit", 0, scalar_of("SELECT \@\@TRANCOUNT"));
        eq_check("the committed row", "committed", scalar_of("SELECT name FROM pl_t WHERE id = 2"));
        eq_check("rows in pl_t", "2", join(",", map { $_->[0] } @{ need()->selectall_arrayref("SELECT id FROM pl_t ORDER BY id") }));
    });
} elsif ($part eq 'tasks') {
    my $arn = "arn:aws:s3:::aws_example_bucket/$database.bak";
    my $task_id;
    step("exec msdb.dbo.rds_backup_database", sub {
        my ($rows) = results("exec msdb.dbo.rds_backup_database \@source_db_name='$database', "
                             . "\@s3_arn_to_backup_to='$arn'");
        eq_check("rds_backup_database returns one row", 1, scalar @$rows);
        $task_id = $rows->[0]{task_id} if @$rows;
        eq_check("rds_backup_database task_type", "BACKUP_DB", @$rows ? $rows->[0]{task_type} : undef);
    });
    step("exec msdb.dbo.rds_task_status \@task_id=<the backup> until it ends", sub {
        die "not run: no task was started\n" unless defined $task_id;
        my $deadline = time + 300;
        my $last;
        while (time < $deadline) {
            my ($rows) = results("exec msdb.dbo.rds_task_status \@task_id=$task_id");
            eq_check("rds_task_status \@task_id=$task_id rows", 1, scalar @$rows);
            return unless @$rows == 1;
            $last = $rows->[0];
            last if $last->{lifecycle} =~ /^(SUCCESS|ERROR|CANCELLED)$/;
            sleep 0.2;
        }
        eq_check("backup lifecycle (task_info " . show($last && $last->{task_info}) . ")", "SUCCESS",
                 $last && $last->{lifecycle});
        eq_check("backup % complete", 100, $last && $last->{'% complete'});
    });
    step("exec msdb.dbo.rds_task_status", sub {
        my ($rows, $names) = results("exec msdb.dbo.rds_task_status");
        eq_check("rds_task_status columns", join("|", "task_id", "task_type", "database_name", "% complete",
                 "duration (mins)", "lifecycle", "task_info", "last_updated", "created_at", "S3_object_arn",
                 "overwrite_s3_backup_file", "KMS_master_key_arn", "filepath", "overwrite_file"), join("|", @$names));
        my ($ours) = grep { defined $task_id && defined $_->{task_id} && $_->{task_id} == $task_id } @$rows;
        report($ours, "rds_task_status lists the backup task", scalar(@$rows) . " rows, none with task_id "
               . (defined $task_id ? $task_id : 'undef'));
        eq_check("its lifecycle", "SUCCESS", $ours && $ours->{lifecycle});
        eq_check("its database_name", $database, $ours && $ours->{database_name});
        eq_check("its S3_object_arn", $arn, $ours && $ours->{S3_object_arn});
    });
} elsif ($part eq 'nvarchar') {
    die "part nvarchar needs a length\n" unless $n;
    my $value = join('', map { chr(ord('A') + $_ % 26) } 0 .. $n - 1);
    substr($value, -3) = 'end' if $n >= 3;
    my $table = "pl_max_$n";
    step("CREATE TABLE $table and INSERT $n characters", sub {
        need()->do("CREATE TABLE $table (id INT NOT NULL PRIMARY KEY, v NVARCHAR(MAX))");
        need()->do("INSERT INTO $table (id, v) VALUES (1, N'$value')");
    });
    step("SELECT of an NVARCHAR(MAX) value of $n characters", sub {
        my $sth = need()->prepare("SELECT id, v FROM $table WHERE id = 1");
        $sth->execute;
        my @row = $sth->fetchrow_array;
        $sth->finish;
        eq_check("NVARCHAR(MAX) value of $n characters", $value, $row[1]);
    });
    step("SELECT LEN() of it", sub {
        eq_check("LEN of the NVARCHAR(MAX) value", $n, scalar_of("SELECT LEN(v) FROM $table WHERE id = 1"));
    });
} else {
    die "unknown part $part\n";
}

step("disconnect", sub { $dbh->disconnect if $dbh });
print "END $part\n";
